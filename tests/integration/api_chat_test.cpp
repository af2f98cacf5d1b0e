// Real-time chat over WebSocket against the real server: ack after commit, fan-out, retries,
// resume, typing, mentions and unread counts, bad frames.
#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

bool is_type(const json::object& f, std::string_view t) { return f.at("type").as_string() == t; }

json::object send_frame(std::int64_t room, const std::string& client_id, const std::string& body) {
  return json::object{{"type", "send"}, {"room", room}, {"client_id", client_id}, {"body", body}};
}

struct pair_in_room {
  test_user alice;
  test_user bob;
  std::int64_t room;
};

pair_in_room two_users_in_a_room(const std::string& kind = "private") {
  auto& server = shared_server();
  auto alice = make_user(server, "ca");
  auto bob = make_user(server, "cb");
  auto room = make_room(alice, kind);
  EXPECT_EQ(alice.http.post("/api/v1/rooms/" + std::to_string(room) + "/invite", json::object{{"username", bob.username}}).status, 204);
  return {std::move(alice), std::move(bob), room};
}

TEST(Chat, TwoClientsChatBothWays) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  auto wb = connect_ws(server, bob);

  wa.send(send_frame(room, "a1", "hello bob"));
  auto ack = wa.read_until([](const json::object& f) { return is_type(f, "ack"); });
  EXPECT_EQ(ack.at("client_id").as_string(), "a1");
  auto seq = ack.at("seq").as_int64();
  auto ev = wb.read_until([](const json::object& f) { return is_type(f, "event") && f.at("kind").as_string() == "message"; });
  EXPECT_EQ(ev.at("seq").as_int64(), seq);
  EXPECT_EQ(ev.at("data").at("body").as_string(), "hello bob");
  EXPECT_EQ(ev.at("data").at("author_username").as_string(), alice.username);

  wb.send(send_frame(room, "b1", "hi alice"));
  auto back = wa.read_until([](const json::object& f) { return is_type(f, "event") && f.at("data").at("body").as_string() == "hi alice"; });
  EXPECT_EQ(back.at("seq").as_int64(), seq + 1);
  // The acknowledged messages are in history (committed before the ack).
  auto hist = alice.http.get("/api/v1/rooms/" + std::to_string(room) + "/messages").json().at("messages").as_array();
  ASSERT_GE(hist.size(), 2u);
  EXPECT_EQ(hist[hist.size() - 2].at("body").as_string(), "hello bob");
}

TEST(Chat, RetriedSendReturnsOriginalAckWithoutDuplicate) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  wa.send(send_frame(room, "retry-1", "only once"));
  auto first = wa.read_until([](const json::object& f) { return is_type(f, "ack"); });
  EXPECT_FALSE(first.at("duplicate").as_bool());
  // The client lost the ack and reconnects: the same client_id returns the same message.
  auto wa2 = connect_ws(server, alice);
  wa2.send(send_frame(room, "retry-1", "only once"));
  auto second = wa2.read_until([](const json::object& f) { return is_type(f, "ack"); });
  EXPECT_TRUE(second.at("duplicate").as_bool());
  EXPECT_EQ(second.at("message_id").as_int64(), first.at("message_id").as_int64());
  EXPECT_EQ(second.at("seq").as_int64(), first.at("seq").as_int64());
  auto hist = alice.http.get("/api/v1/rooms/" + std::to_string(room) + "/messages").json().at("messages").as_array();
  EXPECT_EQ(hist.size(), 1u);
  // The same client_id in another room is refused rather than silently mapped.
  auto other = make_room(alice, "private");
  wa2.send(send_frame(other, "retry-1", "elsewhere"));
  auto err = wa2.read_until([](const json::object& f) { return is_type(f, "error"); });
  EXPECT_EQ(err.at("code").as_string(), "already_exists");
}

TEST(Chat, ResumeReplaysExactlyTheMissedEvents) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  std::int64_t last_seen = 0;
  {
    auto wb = connect_ws(server, bob);
    wa.send(send_frame(room, "r0", "before the drop"));
    // r0's ack first, so that each ack read below is for r1..r5 and the edit comes after r5.
    wa.read_until([](const json::object& f) { return is_type(f, "ack"); });
    auto ev = wb.read_until([](const json::object& f) { return is_type(f, "event"); });
    last_seen = ev.at("seq").as_int64();
    wb.close();
  }
  std::int64_t first_mid = 0;
  for (int i = 1; i <= 5; ++i) {
    wa.send(send_frame(room, "r" + std::to_string(i), "missed " + std::to_string(i)));
    auto ack = wa.read_until([](const json::object& f) { return is_type(f, "ack"); });
    if (i == 1) first_mid = ack.at("message_id").as_int64();
  }
  ASSERT_EQ(alice.http.patch("/api/v1/messages/" + std::to_string(first_mid), json::object{{"body", "missed 1 (edited)"}}).status, 200);

  auto wb = connect_ws(server, bob, json::object{{std::to_string(room), last_seen}});
  std::vector<std::int64_t> seqs;
  std::vector<std::string> kinds;
  for (int i = 0; i < 6; ++i) {
    auto ev = wb.read_until([](const json::object& f) { return is_type(f, "event"); });
    seqs.push_back(ev.at("seq").as_int64());
    kinds.emplace_back(ev.at("kind").as_string());
  }
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], last_seen + 1 + static_cast<std::int64_t>(i));
  EXPECT_EQ(kinds.back(), "message_edited");
  // Then live events, and nothing replayed twice.
  wa.send(send_frame(room, "r6", "live again"));
  auto live = wb.read_until([](const json::object& f) { return is_type(f, "event"); });
  EXPECT_EQ(live.at("seq").as_int64(), last_seen + 7);
  EXPECT_FALSE(wb.try_read(std::chrono::milliseconds(300)).has_value());
}

TEST(Chat, RepliesMustPointIntoTheSameRoom) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  wa.send(send_frame(room, "root", "question?"));
  auto root = wa.read_until([](const json::object& f) { return is_type(f, "ack"); });
  auto reply = send_frame(room, "answer", "answer!");
  reply["reply_to"] = root.at("message_id");
  wa.send(reply);
  EXPECT_EQ(wa.read_until([](const json::object& f) { return is_type(f, "ack"); }).at("client_id").as_string(), "answer");
  auto other = make_room(alice, "private");
  auto cross = send_frame(other, "cross", "elsewhere");
  cross["reply_to"] = root.at("message_id");
  wa.send(cross);
  EXPECT_EQ(wa.read_until([](const json::object& f) { return is_type(f, "error"); }).at("code").as_string(), "invalid_argument");
  auto hist = bob.http.get("/api/v1/rooms/" + std::to_string(room) + "/messages").json().at("messages").as_array();
  ASSERT_EQ(hist.size(), 2u);
  EXPECT_EQ(hist[1].at("reply_to").as_int64(), root.at("message_id").as_int64());
}

TEST(Chat, PresenceOnlineAwayOffline) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  {
    auto wb = connect_ws(server, bob);
    auto online = wa.read_until([&](const json::object& f) { return is_type(f, "presence") && f.at("user").as_int64() == bob.id; });
    EXPECT_EQ(online.at("status").as_string(), "online");
    wb.send(json::object{{"type", "presence"}, {"status", "away"}});
    auto away = wa.read_until([&](const json::object& f) { return is_type(f, "presence") && f.at("user").as_int64() == bob.id; });
    EXPECT_EQ(away.at("status").as_string(), "away");
    wb.close();
  }
  auto offline = wa.read_until([&](const json::object& f) { return is_type(f, "presence") && f.at("user").as_int64() == bob.id; });
  EXPECT_EQ(offline.at("status").as_string(), "offline");
}

TEST(Chat, NewcomerLearnsWhoIsAlreadyOnline) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wb = connect_ws(server, bob);
  auto wa = connect_ws(server, alice);
  auto snapshot = wa.read_until([&](const json::object& f) { return is_type(f, "presence"); });
  EXPECT_EQ(snapshot.at("user").as_int64(), bob.id);
  EXPECT_EQ(snapshot.at("status").as_string(), "online");
  // Nobody is reported twice, and alice is not told about herself.
  while (auto more = wa.try_read(std::chrono::milliseconds(300))) {
    if (more->is_object() && is_type(more->as_object(), "presence")) {
      EXPECT_NE(more->at("user").as_int64(), alice.id);
      EXPECT_NE(more->at("user").as_int64(), bob.id);
    }
  }
}

TEST(Chat, PresenceSnapshotRemembersAway) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wb = connect_ws(server, bob);
  wb.send(json::object{{"type", "presence"}, {"id", "p1"}, {"status", "away"}});
  wb.read_until([](const json::object& f) { return is_type(f, "ok"); });
  auto wa = connect_ws(server, alice);
  auto snapshot = wa.read_until([&](const json::object& f) { return is_type(f, "presence"); });
  EXPECT_EQ(snapshot.at("user").as_int64(), bob.id);
  EXPECT_EQ(snapshot.at("status").as_string(), "away");
  // A second connection of bob's that is not away makes him online again.
  auto wb2 = connect_ws(server, bob);
  auto wa2 = connect_ws(server, alice);
  auto again = wa2.read_until([&](const json::object& f) { return is_type(f, "presence"); });
  EXPECT_EQ(again.at("status").as_string(), "online");
}

TEST(Chat, TypingReachesOthersOnly) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = connect_ws(server, alice);
  auto wb = connect_ws(server, bob);
  wa.send(json::object{{"type", "typing"}, {"room", room}});
  auto t = wb.read_until([](const json::object& f) { return is_type(f, "typing"); });
  EXPECT_EQ(t.at("user").as_int64(), alice.id);
  auto own = wa.try_read(std::chrono::milliseconds(300));
  if (own) {
    EXPECT_NE(own->at("type").as_string(), "typing");
  }
}

TEST(Chat, MentionsAndUnreadCounts) {
  auto [alice, bob, room] = two_users_in_a_room();
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  ASSERT_EQ(alice.http.post(rid + "/messages", json::object{{"client_id", "m1"}, {"body", "plain"}}).status, 201);
  auto posted = alice.http.post(rid + "/messages", json::object{{"client_id", "m2"}, {"body", "ping @" + bob.username + " and @nobody-here"}});
  ASSERT_EQ(posted.status, 201);
  auto hist = bob.http.get(rid + "/messages").json().at("messages").as_array();
  auto mentions = hist.back().at("mentions").as_array();
  ASSERT_EQ(mentions.size(), 1u);
  EXPECT_EQ(mentions[0].as_string(), bob.username);
  auto rooms = bob.http.get("/api/v1/rooms").json().at("rooms").as_array();
  ASSERT_EQ(rooms.size(), 1u);
  EXPECT_EQ(rooms[0].at("unread").as_int64(), 2);
  EXPECT_EQ(rooms[0].at("mentions_unread").as_int64(), 1);
  ASSERT_EQ(bob.http.post(rid + "/read", json::object{{"seq", posted.json().at("seq").as_int64()}}).status, 204);
  rooms = bob.http.get("/api/v1/rooms").json().at("rooms").as_array();
  EXPECT_EQ(rooms[0].at("unread").as_int64(), 0);
  EXPECT_EQ(rooms[0].at("mentions_unread").as_int64(), 0);
}

TEST(Chat, BadFramesGetErrorFramesAndNothingIsWritten) {
  auto& server = shared_server();
  auto [alice, bob, room] = two_users_in_a_room();
  auto wa = server.ws(alice.http.cookie_header());
  wa.read();  // hello
  wa.send(send_frame(room, "early", "before subscribe"));
  EXPECT_EQ(wa.read_until([](const json::object& f) { return is_type(f, "error"); }).at("code").as_string(),
            "failed_precondition");
  wa.send(json::object{{"type", "subscribe"}});
  wa.read_until([](const json::object& f) { return is_type(f, "subscribed"); });
  auto expect_error = [&](std::string_view raw, std::string_view code) {
    wa.send_text(raw);
    auto e = wa.read_until([](const json::object& f) { return is_type(f, "error"); });
    EXPECT_EQ(e.at("code").as_string(), code) << raw;
  };
  expect_error("{not json", "invalid_argument");
  expect_error("[1,2,3]", "invalid_argument");
  expect_error(R"({"type":"launch_missiles"})", "invalid_argument");
  expect_error(R"({"type":"send","room":1,"client_id":"x y","body":"b"})", "invalid_argument");
  expect_error(R"({"type":"send","room":)" + std::to_string(room) + R"(,"client_id":"e1","body":"   "})", "invalid_argument");
  expect_error(R"({"type":"send","room":)" + std::to_string(room) + R"(,"client_id":"e2","body":"x","admin":true})", "invalid_argument");
  expect_error(R"({"type":"send","room":)" + std::to_string(room) + R"(,"client_id":"e3","body":")" + std::string(9000, 'a') + R"("})",
               "payload_too_large");
  expect_error(R"({"type":"send","room":999999999,"client_id":"e4","body":"x"})", "not_found");
  wa.send_binary("\x01\x02");
  EXPECT_EQ(wa.read_until([](const json::object& f) { return is_type(f, "error"); }).at("code").as_string(), "invalid_argument");
  // Still usable, and none of the refused frames left a message behind.
  wa.send(json::object{{"type", "ping"}, {"id", "p1"}});
  EXPECT_EQ(wa.read_until([](const json::object& f) { return is_type(f, "pong"); }).at("ref").as_string(), "p1");
  auto hist = alice.http.get("/api/v1/rooms/" + std::to_string(room) + "/messages").json().at("messages").as_array();
  EXPECT_EQ(hist.size(), 0u);
}

TEST(Chat, OversizedFrameClosesWith1009) {
  auto& server = shared_server();
  auto u = make_user(server, "big");
  auto ws = connect_ws(server, u);
  ws.send_text(std::string(64 * 1024 + 100, 'x'));  // just over the 64 KiB limit
  EXPECT_EQ(ws.wait_closed(std::chrono::seconds(5)), 1009);
  // The server is unaffected.
  EXPECT_EQ(u.http.get("/api/v1/me").status, 200);
}

TEST(Chat, CrossOriginWebSocketIsRefused) {
  auto& server = shared_server();
  auto u = make_user(server, "xo");
  try {
    server.ws(u.http.cookie_header(), std::string("https://evil.example"));
    FAIL() << "cross-origin upgrade accepted";
  } catch (const ws_upgrade_refused& e) {
    EXPECT_EQ(e.status, 403);
  }
  auto ok = server.ws(u.http.cookie_header(), server.origin());
  EXPECT_EQ(ok.read().at("type").as_string(), "hello");
  // Forged state-changing request from a foreign origin with the user's cookie.
  auto forged = u.http.post("/api/v1/rooms", json::object{{"name", unique_name("csrf")}}, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(u.http.get("/api/v1/rooms").json().at("rooms").as_array().size(), 0u);
}

TEST(Chat, JoiningWhileConnectedDeliversTheRoomLive) {
  auto& server = shared_server();
  auto alice = make_user(server, "ja");
  auto bob = make_user(server, "jb");
  auto room = make_room(alice, "public");
  auto wb = connect_ws(server, bob);
  ASSERT_EQ(bob.http.post("/api/v1/rooms/" + std::to_string(room) + "/join", json::object{}).status, 200);
  auto joined = wb.read_until([](const json::object& f) { return is_type(f, "event"); });
  EXPECT_EQ(joined.at("kind").as_string(), "member_joined");
  ASSERT_EQ(alice.http.post("/api/v1/rooms/" + std::to_string(room) + "/messages", json::object{{"client_id", "j1"}, {"body", "welcome"}}).status, 201);
  auto msg = wb.read_until([](const json::object& f) { return is_type(f, "event"); });
  EXPECT_EQ(msg.at("data").at("body").as_string(), "welcome");
  EXPECT_EQ(msg.at("seq").as_int64(), joined.at("seq").as_int64() + 1);
}

}  // namespace
}  // namespace redoubt::test
