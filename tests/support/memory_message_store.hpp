// chat::message_store in memory, for unit tests of the domain (group commit, resume): one
// gapless seq per room across messages, client_id retries answered with the original message,
// and injected failures. Not thread-safe: use it from one io_context thread.
#pragma once

#include <map>
#include <tuple>
#include <vector>

#include "chat/message_store.hpp"

namespace redoubt::test {

class memory_message_store final : public chat::message_store {
 public:
  // Batches as post_batch saw them (sizes), in call order.
  std::vector<std::size_t> batch_sizes;
  // The next post_batch calls fail with these codes, one per call (then it works again).
  std::vector<errc> fail_next;

  // A room event (not a message) at the room's next seq; returns that seq.
  chat::seq_t add_event(chat::room_id room, std::string kind) {
    chat::room_event e;
    e.room = room;
    e.seq = ++last_seq_[room];
    e.kind = std::move(kind);
    e.payload_json = "{}";
    events_.push_back(e);
    return e.seq;
  }
  chat::seq_t last_seq(chat::room_id room) const {
    auto it = last_seq_.find(room);
    return it == last_seq_.end() ? 0 : it->second;
  }

  boost::asio::awaitable<result<std::vector<chat::post_outcome>>> post_batch(
      const std::vector<chat::post_request>& posts) override {
    batch_sizes.push_back(posts.size());
    if (!fail_next.empty()) {
      const auto code = fail_next.front();
      fail_next.erase(fail_next.begin());
      co_return make_error(code, "injected failure");
    }
    std::vector<chat::post_outcome> out;
    for (const auto& p : posts) out.push_back(store_one(p));
    co_return out;
  }

  boost::asio::awaitable<result<std::optional<chat::message>>> get_message(chat::message_id id) override {
    for (const auto& m : messages_)
      if (m.id == id) co_return std::optional<chat::message>(m);
    co_return std::optional<chat::message>{};
  }
  boost::asio::awaitable<result<std::optional<chat::message_change>>> edit_message(chat::message_id id,
                                                                                 const std::string& body,
                                                                                 chat::user_id) override {
    co_return change(id, [&](chat::message& m) { m.body = body; });
  }
  boost::asio::awaitable<result<std::optional<chat::message_change>>> delete_message(chat::message_id id,
                                                                                   chat::user_id) override {
    co_return change(id, [](chat::message& m) { m.deleted = true; });
  }
  boost::asio::awaitable<result<std::optional<chat::message_change>>> set_reaction(chat::message_id id,
                                                                                 chat::user_id user,
                                                                                 const std::string& emoji,
                                                                                 bool) override {
    co_return change(id, [&](chat::message& m) { m.reactions.push_back({emoji, {user}}); });
  }
  boost::asio::awaitable<result<std::vector<chat::message>>> history(chat::room_id room, chat::seq_t before,
                                                                     int limit) override {
    std::vector<chat::message> out;
    for (auto it = messages_.rbegin(); it != messages_.rend() && static_cast<int>(out.size()) < limit; ++it)
      if (it->room == room && (before == 0 || it->seq < before)) out.push_back(*it);
    co_return out;
  }
  boost::asio::awaitable<result<std::vector<chat::replay_item>>> replay(chat::room_id room, chat::seq_t after,
                                                                        int limit) override {
    std::map<chat::seq_t, chat::replay_item> by_seq;
    for (const auto& m : messages_)
      if (m.room == room && m.seq > after && m.seq <= after + limit) by_seq.emplace(m.seq, m);
    for (const auto& e : events_)
      if (e.room == room && e.seq > after && e.seq <= after + limit) by_seq.emplace(e.seq, e);
    std::vector<chat::replay_item> out;
    for (auto& [seq, item] : by_seq) out.push_back(std::move(item));
    co_return out;
  }
  boost::asio::awaitable<result<std::optional<chat::room_event>>> event_at(chat::room_id room,
                                                                          chat::seq_t seq) override {
    for (const auto& e : events_)
      if (e.room == room && e.seq == seq) co_return std::optional<chat::room_event>(e);
    co_return std::optional<chat::room_event>{};
  }

 private:
  chat::post_outcome store_one(const chat::post_request& p) {
    const auto key = std::tuple{p.room, p.author, p.client_id};
    if (auto it = by_client_id_.find(key); it != by_client_id_.end()) {
      const auto& original = messages_[it->second];
      chat::post_outcome o{chat::post_status::duplicate, original.id, original.seq, original.created_at, {}, "[]"};
      if (original.body != p.body) o.status = chat::post_status::client_id_reused;
      return o;
    }
    chat::message m;
    m.id = static_cast<chat::message_id>(messages_.size()) + 1;
    m.room = p.room;
    m.seq = ++last_seq_[p.room];
    m.author = p.author;
    m.author_username = p.author_username;
    m.client_id = p.client_id;
    m.body = p.body;
    m.created_at = "2026-01-01T00:00:00Z";
    by_client_id_.emplace(key, messages_.size());
    messages_.push_back(m);
    return chat::post_outcome{chat::post_status::ok, m.id, m.seq, m.created_at, p.mentions, "[]"};
  }

  template <class Edit>
  std::optional<chat::message_change> change(chat::message_id id, Edit edit) {
    for (auto& m : messages_) {
      if (m.id != id || m.deleted) continue;
      edit(m);
      const auto seq = add_event(m.room, "message_changed");
      return chat::message_change{m.room, seq, "2026-01-01T00:00:01Z"};
    }
    return std::nullopt;
  }

  std::vector<chat::message> messages_;
  std::vector<chat::room_event> events_;
  std::map<chat::room_id, chat::seq_t> last_seq_;
  std::map<std::tuple<chat::room_id, chat::user_id, std::string>, std::size_t> by_client_id_;
};

}  // namespace redoubt::test
