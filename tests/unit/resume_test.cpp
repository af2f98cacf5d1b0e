// Gapless resume in the WebSocket gateway, without sockets or a database: a fake link collects
// the frames, the chat service runs over in-memory stores, and the hub delivers live events.
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/ws_gateway.hpp"
#include "audit/recorder.hpp"
#include "proto/render.hpp"
#include "support/co_test.hpp"
#include "support/memory_message_store.hpp"
#include "support/memory_stores.hpp"

namespace redoubt::api {
namespace {
namespace asio = boost::asio;
namespace json = boost::json;

constexpr chat::room_id room = 3;
constexpr chat::room_id joined_room = 4;
constexpr chat::user_id alice = 7, bob = 8;

class recording_link final : public ws_link {
 public:
  std::vector<json::object> frames;
  int close_code = 0;
  bool send(std::shared_ptr<const std::string> frame) override {
    frames.push_back(json::parse(*frame).as_object());
    return true;
  }
  void close(int code, std::string) override { close_code = code; }

  // The seqs of the event frames, in the order they were sent.
  std::vector<chat::seq_t> event_seqs() const {
    std::vector<chat::seq_t> out;
    for (const auto& f : frames)
      if (f.at("type") == "event") out.push_back(f.at("seq").as_int64());
    return out;
  }
  // The seqs of the event frames of one room, in the order they were sent.
  std::vector<chat::seq_t> event_seqs_in(chat::room_id r) const {
    std::vector<chat::seq_t> out;
    for (const auto& f : frames)
      if (f.at("type") == "event" && f.at("room").as_int64() == r)
        out.push_back(f.at("seq").as_int64());
    return out;
  }
  // Position of the first frame of this type (frames.size() when there is none).
  std::size_t index_of(std::string_view type) const {
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i].at("type").as_string() == type) return i;
    return frames.size();
  }
  const json::object* first(std::string_view type) const {
    for (const auto& f : frames)
      if (f.at("type").as_string() == type) return &f;
    return nullptr;
  }
};

asio::awaitable<void> settle() {
  auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < 100; ++i) co_await asio::post(ex, asio::use_awaitable);
}

// Everything a gateway needs, over in-memory stores; `messages` starts with `count` messages
// by alice in the room (seqs 1..count).
struct world {
  settings config;
  chat::hub hub;
  test::memory_message_store messages;
  test::memory_room_store rooms;
  test::memory_audit_log audit_rows;
  audit::recorder audit_log{audit_rows};
  metrics stats;
  std::optional<chat::message_writer> writer;
  std::optional<chat::service> chat;

  explicit world(asio::any_io_executor ex) {
    rooms.add_room(room, {alice, bob});
    rooms.last_seq = [this](chat::room_id r) { return messages.last_seq(r); };
    writer.emplace(ex, messages, hub, 64, 1);
    writer->start();
    chat.emplace(rooms, messages, audit_log, hub, *writer, config.limits);
  }
  auth::rate_limiter message_rate{1e6, 1e6};
  gateway_context context() { return {config, hub, *chat, stats, message_rate}; }

  // Stores a message and publishes it to the hub, as a commit does; returns its seq.
  asio::awaitable<chat::seq_t> commit(std::string client_id, bool publish = true) {
    chat::post_request p;
    p.room = room;
    p.author = alice;
    p.author_username = "alice";
    p.client_id = std::move(client_id);
    p.body = "hello";
    const std::vector<chat::post_request> batch{p};
    auto out = co_await messages.post_batch(batch);
    const auto seq = (*out)[0].seq;
    if (publish) {
      chat::message m;
      m.id = (*out)[0].id;
      m.room = room;
      m.seq = seq;
      m.author = alice;
      m.body = "hello";
      hub.publish(room, seq, std::make_shared<const std::string>(proto::message_event_frame(m)));
    }
    co_return seq;
  }
};

std::shared_ptr<ws_gateway> connect(world& w, recording_link& link, asio::any_io_executor ex) {
  chat::session_info session;
  session.id = 1;
  session.account.id = bob;
  session.account.username = "bob";
  auto gw = std::make_shared<ws_gateway>(w.context(), asio::make_strand(ex), link, session, "127.0.0.1");
  gw->open();
  return gw;
}

asio::awaitable<void> finish(world& w, ws_gateway& gw) {
  gw.closed();
  w.writer->stop();
  co_await settle();
}

CO_TEST(Resume, SendsExactlyTheEventsAfterTheCursorInOrder) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  for (int i = 1; i <= 5; ++i) co_await w.commit("m" + std::to_string(i), false);
  w.messages.add_event(room, "topic_changed");  // seq 6: a room event, not a message
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","id":"s1","rooms":{"3":2}})");
  co_await settle();
  EXPECT_EQ(link.event_seqs(), (std::vector<chat::seq_t>{3, 4, 5, 6}));
  const auto* subscribed = link.first("subscribed");
  EXPECT_TRUE(subscribed);
  if (subscribed) {
    const auto& r = subscribed->at("rooms").as_array().at(0).as_object();
    EXPECT_EQ(r.at("from_seq").as_int64(), 2);
    EXPECT_EQ(r.at("last_seq").as_int64(), 6);
  }
  co_await finish(w, *gw);
}

CO_TEST(Resume, ACursorFromTheFutureIsClampedAndReplaysNothing) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  for (int i = 1; i <= 3; ++i) co_await w.commit("m" + std::to_string(i), false);
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","rooms":{"3":99}})");
  co_await settle();
  EXPECT_TRUE(link.event_seqs().empty());
  const auto* subscribed = link.first("subscribed");
  EXPECT_TRUE(subscribed);
  if (subscribed) {
    EXPECT_EQ(subscribed->at("rooms").as_array().at(0).at("from_seq").as_int64(), 3);
  }
  // The next live event is delivered: the cursor is the room's end, not 99.
  co_await w.commit("m4");
  co_await settle();
  EXPECT_EQ(link.event_seqs(), (std::vector<chat::seq_t>{4}));
  co_await finish(w, *gw);
}

CO_TEST(Resume, LiveEventsAreNeitherLostNorDuplicatedAndGapsAreFilled) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  for (int i = 1; i <= 3; ++i) co_await w.commit("m" + std::to_string(i), false);
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","rooms":{"3":0}})");
  co_await w.commit("m4");         // live, while the catch-up may still run
  co_await settle();
  co_await w.commit("m5", false);  // committed, but its live event never reached this node
  co_await w.commit("m6");         // a gap: 5 must come from the store first
  co_await settle();
  const auto again = std::make_shared<const std::string>(R"({"type":"event","room":3,"seq":2})");
  w.hub.publish(room, 2, again);  // an old event again (a peer's late copy)
  co_await settle();
  EXPECT_EQ(link.event_seqs(), (std::vector<chat::seq_t>{1, 2, 3, 4, 5, 6}));
  co_await finish(w, *gw);
}

// Room 4 holds two events and only alice; while bob's subscribe is reading his rooms, he is
// added to it: the join event (seq 3) is committed and the hub announces the new membership.
// With `list_read_first` the list was read before the join, so room 4 is not in it.
void join_while_subscribing(world& w, bool list_read_first) {
  w.rooms.add_room(joined_room, {alice});
  w.messages.add_event(joined_room, "topic_changed");
  w.messages.add_event(joined_room, "topic_changed");
  w.rooms.read_before_hook = list_read_first;
  w.rooms.during_rooms_of = [&w] {
    w.rooms.join(joined_room, bob);
    const auto seq = w.messages.add_event(joined_room, "member_joined");
    w.hub.member_added(joined_room, bob, seq);
  };
}

// The next event of room 4, committed and published live; returns its seq.
chat::seq_t publish_in_joined_room(world& w) {
  const auto seq = w.messages.add_event(joined_room, "topic_changed");
  const auto frame = std::make_shared<const std::string>(R"({"type":"event","room":4,"seq":)" +
                                                         std::to_string(seq) + "}");
  w.hub.publish(joined_room, seq, frame);
  return seq;
}

CO_TEST(Resume, AJoinWhileSubscribingIsNotSentAgainBeforeTheListedCursor) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  join_while_subscribing(w, /*list_read_first=*/false);
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","rooms":{"3":0}})");
  co_await settle();
  EXPECT_EQ(publish_in_joined_room(w), 4);
  co_await settle();
  // The listing already counts the join (from_seq 3): only what follows it is sent.
  EXPECT_EQ(link.event_seqs_in(joined_room), (std::vector<chat::seq_t>{4}));
  const auto* subscribed = link.first("subscribed");
  EXPECT_TRUE(subscribed);
  if (subscribed) {
    bool listed = false;
    for (const auto& r : subscribed->at("rooms").as_array()) {
      if (r.at("room").as_int64() != joined_room) continue;
      listed = true;
      EXPECT_EQ(r.at("from_seq").as_int64(), 3);
      EXPECT_EQ(r.at("last_seq").as_int64(), 3);
    }
    EXPECT_TRUE(listed);
  }
  co_await finish(w, *gw);
}

CO_TEST(Resume, AJoinAfterTheRoomsWereReadIsFollowedFromTheJoinEvent) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  join_while_subscribing(w, /*list_read_first=*/true);
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","rooms":{"3":0}})");
  co_await settle();
  EXPECT_EQ(publish_in_joined_room(w), 4);
  co_await settle();
  // Not listed, but followed from the join on, each event once, all after "subscribed".
  EXPECT_EQ(link.event_seqs_in(joined_room), (std::vector<chat::seq_t>{3, 4}));
  const auto subscribed_at = link.index_of("subscribed");
  EXPECT_LT(subscribed_at, link.index_of("event"));
  co_await finish(w, *gw);
}

// A membership change announced by a peer node is checked against the store before anything
// of the room is followed or replayed: an announcement the store does not confirm is ignored.
CO_TEST(Resume, AnAnnouncedJoinTheStoreDoesNotConfirmIsIgnored) {
  auto ex = co_await asio::this_coro::executor;
  world w(ex);
  w.rooms.add_room(joined_room, {alice});  // bob is not a member
  w.messages.add_event(joined_room, "topic_changed");
  const auto seq = w.messages.add_event(joined_room, "topic_changed");
  recording_link link;
  auto gw = connect(w, link, ex);
  co_await gw->on_text(R"({"type":"subscribe","rooms":{"3":0}})");
  co_await settle();
  w.hub.membership_from_peer(joined_room, bob, 1, /*joined=*/true);  // forged: replay from 1
  co_await settle();
  publish_in_joined_room(w);
  co_await settle();
  EXPECT_TRUE(link.event_seqs_in(joined_room).empty()) << "history of a room bob is not in";
  EXPECT_EQ(seq, 2);
  // A real join (the store agrees) is followed from its event on.
  w.rooms.join(joined_room, bob);
  const auto join_seq = w.messages.add_event(joined_room, "member_joined");
  w.hub.membership_from_peer(joined_room, bob, join_seq, /*joined=*/true);
  co_await settle();
  EXPECT_EQ(link.event_seqs_in(joined_room), (std::vector<chat::seq_t>{join_seq}));
  co_await finish(w, *gw);
}

}  // namespace
}  // namespace redoubt::api
