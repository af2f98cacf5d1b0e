// The rest of the domain's ports in memory, for gateway and service unit tests:
// memory_room_store (rooms and who is in them, the reads the chat service makes while
// subscribing, posting and marking read; a change answers errc::internal), memory_audit_log
// (appends kept in a vector). Not thread-safe: use them from one io_context thread.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "audit/log_store.hpp"
#include "chat/room_store.hpp"

namespace redoubt::test {

class memory_room_store final : public chat::room_store {
 public:
  // A room with these members (all with role member); last_seq is read from `seqs` when set.
  void add_room(chat::room_id id, std::vector<chat::user_id> members) { members_[id] = std::move(members); }
  // Makes `user` a member of an existing room (what a committed join leaves behind).
  void join(chat::room_id id, chat::user_id user) { members_[id].push_back(user); }
  // Where each room's log ends (the message store's last seq).
  std::function<chat::seq_t(chat::room_id)> last_seq = [](chat::room_id) { return chat::seq_t{0}; };
  // When set, rooms_of() runs it and then yields to the executor a few times, as a database
  // read would: the window in which other handlers run. With `read_before_hook` the list is
  // read first (a snapshot taken before whatever the hook changes).
  std::function<void()> during_rooms_of;
  bool read_before_hook = false;

  redoubt::awaitable<result<std::optional<chat::room>>> get_room(chat::room_id id, chat::user_id viewer) override {
    if (!members_.contains(id)) co_return std::optional<chat::room>{};
    co_return std::optional<chat::room>(room_for(id, viewer));
  }
  redoubt::awaitable<result<std::vector<chat::room>>> rooms_of(chat::user_id user) override {
    std::vector<chat::room> out;
    if (read_before_hook || !during_rooms_of) out = rooms_for(user);
    if (during_rooms_of) {
      during_rooms_of();
      auto ex = co_await boost::asio::this_coro::executor;
      for (int i = 0; i < 20; ++i) co_await boost::asio::post(ex, boost::asio::use_awaitable);
      if (!read_before_hook) out = rooms_for(user);
    }
    co_return out;
  }
  redoubt::awaitable<result<chat::room_role>> role_of(chat::room_id id, chat::user_id user) override {
    co_return is_member(id, user) ? chat::room_role::member : chat::room_role::none;
  }
  redoubt::awaitable<result<void>> set_read(chat::room_id, chat::user_id, chat::seq_t) override {
    co_return result<void>{};
  }
  redoubt::awaitable<result<std::vector<chat::member>>> members(chat::room_id id) override {
    std::vector<chat::member> out;
    for (auto u : members_[id]) out.push_back({u, "user" + std::to_string(u), "", chat::room_role::member});
    co_return out;
  }

  // Changes are not what these tests drive.
  redoubt::awaitable<result<chat::room>> create_room(chat::room_kind, const std::string&, const std::string&,
                                                  chat::user_id) override {
    co_return unsupported();
  }
  redoubt::awaitable<result<chat::room>> open_direct(chat::user_id, chat::user_id) override { co_return unsupported(); }
  redoubt::awaitable<result<std::vector<chat::room>>> public_rooms(chat::user_id) override { co_return unsupported(); }
  redoubt::awaitable<result<std::optional<chat::seq_t>>> add_member(chat::room_id, chat::user_id, chat::room_role,
                                                                 chat::user_id) override {
    co_return unsupported();
  }
  redoubt::awaitable<result<std::optional<chat::seq_t>>> remove_member(chat::room_id, chat::user_id,
                                                                    chat::user_id) override {
    co_return unsupported();
  }
  redoubt::awaitable<result<std::optional<chat::seq_t>>> set_role(chat::room_id, chat::user_id, chat::room_role,
                                                               chat::user_id) override {
    co_return unsupported();
  }
  redoubt::awaitable<result<std::int64_t>> owner_count(chat::room_id) override { co_return unsupported(); }
  redoubt::awaitable<result<chat::seq_t>> set_topic(chat::room_id, const std::string&, chat::user_id) override {
    co_return unsupported();
  }
  redoubt::awaitable<result<void>> set_retention(chat::room_id, int, chat::user_id) override { co_return unsupported(); }
  redoubt::awaitable<result<std::optional<chat::user>>> find_user(const std::string&) override { co_return unsupported(); }

 private:
  static error unsupported() { return make_error(errc::internal, "memory_room_store: changes are not supported"); }
  std::vector<chat::room> rooms_for(chat::user_id user) const {
    std::vector<chat::room> out;
    for (const auto& [id, members] : members_)
      if (is_member(id, user)) out.push_back(room_for(id, user));
    return out;
  }
  bool is_member(chat::room_id id, chat::user_id user) const {
    auto it = members_.find(id);
    return it != members_.end() && std::find(it->second.begin(), it->second.end(), user) != it->second.end();
  }
  chat::room room_for(chat::room_id id, chat::user_id viewer) const {
    chat::room r;
    r.id = id;
    r.kind = chat::room_kind::private_room;
    r.name = "room" + std::to_string(id);
    r.last_seq = last_seq(id);
    r.my_role = is_member(id, viewer) ? chat::room_role::member : chat::room_role::none;
    return r;
  }
  std::map<chat::room_id, std::vector<chat::user_id>> members_;
};

class memory_audit_log final : public audit::log_store {
 public:
  std::vector<audit::entry> entries;

  redoubt::awaitable<result<void>> append(const audit::entry& e) override {
    entries.push_back(e);
    co_return result<void>{};
  }
  redoubt::awaitable<result<std::vector<audit::row>>> page(std::int64_t, int) override {
    co_return std::vector<audit::row>{};
  }
  redoubt::awaitable<result<audit::chain_state>> chain() override {
    co_return audit::chain_state{static_cast<std::int64_t>(entries.size()), 0, std::nullopt};
  }
  redoubt::awaitable<result<std::optional<audit::head>>> newest_head() override {
    co_return std::optional<audit::head>{};
  }
  redoubt::awaitable<result<std::optional<audit::stored_checkpoint>>> newest_checkpoint() override {
    co_return std::optional<audit::stored_checkpoint>{};
  }
  redoubt::awaitable<result<bool>> add_checkpoint(const audit::head&, const std::string&, const std::string&) override {
    co_return false;
  }
};

}  // namespace redoubt::test
