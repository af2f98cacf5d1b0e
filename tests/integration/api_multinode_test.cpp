// Two redoubt-server nodes sharing PostgreSQL and NATS: a message committed on one node reaches
// clients of the other in real time, and resuming on the other node is gapless.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "integration/api_env.hpp"
#include <nats/nats.h>

#include "support/nats_server.hpp"
#include "support/process_util.hpp"

namespace redoubt::test {
namespace {

bool is_event(const json::object& f) { return f.at("type").as_string() == "event"; }

std::string nats_toml(const std::string& dir) {
  auto& nats = nats_server::shared();
  auto pass = dir + "/nats.pass";
  std::ofstream(pass) << nats.password(nats_role::server);
  ::chmod(pass.c_str(), 0600);
  auto [rc, out] = run_program({REDOUBTCTL_BIN, "keygen-signing", dir + "/signing.key", dir + "/signing.pub"});
  EXPECT_EQ(rc, 0) << out;
  return std::string(relaxed_limits) + "[nats]\nurl = \"" + nats.url() + "\"\nuser = \"redoubt_server\"\npassword_file = \"" +
         pass + "\"\nca_file = \"" + nats.ca_file() + "\"\ncluster_key_file = \"" + nats.cluster_key_file() + "\"\n[jobs]\nsigning_key_file = \"" + dir + "/signing.key\"\n";
}

TEST(MultiNode, MessagesCrossNodesAndResumeOnTheOtherNodeIsGapless) {
  ensure_migrated();
  auto dir = make_temp_dir("redoubt-multinode-");
  server_options opts;
  opts.extra_toml = nats_toml(dir);
  server_process node_a(opts), node_b(opts);
  node_a.start();
  node_b.start();
  auto alice = make_user(node_a, "na");
  auto bob = make_user(node_b, "nb");
  auto room = make_room(alice, "private");
  ASSERT_EQ(alice.http.post("/api/v1/rooms/" + std::to_string(room) + "/invite", json::object{{"username", bob.username}}).status, 204);

  auto wa = connect_ws(node_a, alice);
  std::int64_t bob_last = 0;
  {
    auto wb = connect_ws(node_b, bob);
    wa.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "x1"}, {"body", "from node A"}});
    auto ev = wb.read_until(is_event);
    EXPECT_EQ(ev.at("data").at("body").as_string(), "from node A");
    wb.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "y1"}, {"body", "from node B"}});
    auto back = wa.read_until([](const json::object& f) { return is_event(f) && f.at("data").at("body").as_string() == "from node B"; });
    EXPECT_EQ(back.at("seq").as_int64(), ev.at("seq").as_int64() + 1);
    bob_last = wb.read_until(is_event).at("seq").as_int64();  // his own message
    EXPECT_EQ(bob_last, back.at("seq").as_int64());
  }
  // Bob is away; Alice keeps writing on A; Bob comes back on A (the other node).
  for (int i = 0; i < 3; ++i) {
    wa.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "x" + std::to_string(i + 2)}, {"body", "missed"}});
    wa.read_until([](const json::object& f) { return f.at("type").as_string() == "ack"; });
  }
  auto wb = connect_ws(node_a, bob, json::object{{std::to_string(room), bob_last}});
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(wb.read_until(is_event).at("seq").as_int64(), bob_last + i);
  // And live events from node B reach him on node A.
  auto wb2 = connect_ws(node_b, alice);
  wb2.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "z1"}, {"body", "alice via B"}});
  auto live = wb.read_until(is_event);
  EXPECT_EQ(live.at("seq").as_int64(), bob_last + 4);
  EXPECT_EQ(live.at("data").at("body").as_string(), "alice via B");
  EXPECT_FALSE(wb.try_read(std::chrono::milliseconds(300)).has_value()) << "no duplicates";
  std::filesystem::remove_all(dir);
}

// Membership changes made through one node reach the user's connections on another: an invite
// starts the room's live events there, a removal stops them at once. Typing crosses nodes too.
TEST(MultiNode, MembershipChangesAndTypingCrossNodes) {
  ensure_migrated();
  auto dir = make_temp_dir("redoubt-multinode-");
  server_options opts;
  opts.extra_toml = nats_toml(dir);
  server_process node_a(opts), node_b(opts);
  node_a.start();
  node_b.start();
  auto alice = make_user(node_a, "ma");
  auto bob = make_user(node_b, "mb");
  auto room = make_room(alice, "private");
  const auto rid = "/api/v1/rooms/" + std::to_string(room);
  auto wa = connect_ws(node_a, alice);
  auto wb = connect_ws(node_b, bob);  // connected before the invite: follows no room yet

  ASSERT_EQ(alice.http.post(rid + "/invite", json::object{{"username", bob.username}}).status, 204);
  auto joined = wb.read_until(is_event);
  EXPECT_EQ(joined.at("kind").as_string(), "member_joined");
  EXPECT_EQ(joined.at("data").at("user_id").as_int64(), bob.id);
  wa.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "m1"}, {"body", "welcome, bob"}});
  auto live = wb.read_until(is_event);
  EXPECT_EQ(live.at("data").at("body").as_string(), "welcome, bob");
  EXPECT_EQ(live.at("seq").as_int64(), joined.at("seq").as_int64() + 1);

  wb.send(json::object{{"type", "typing"}, {"room", room}});
  auto typing = wa.read_until([](const json::object& f) { return f.at("type").as_string() == "typing"; });
  EXPECT_EQ(typing.at("user").as_int64(), bob.id);

  ASSERT_EQ(alice.http.del(rid + "/members/" + std::to_string(bob.id)).status, 204);
  auto left = wb.read_until(is_event);
  EXPECT_EQ(left.at("kind").as_string(), "member_left");
  wa.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "m2"}, {"body", "bob is gone"}});
  wa.read_until([](const json::object& f) { return f.at("type").as_string() == "ack"; });
  while (auto more = wb.try_read(std::chrono::milliseconds(500))) {
    ASSERT_TRUE(more->is_object());
    EXPECT_NE(more->as_object().at("type").as_string(), "event") << json::serialize(*more);
  }
  std::filesystem::remove_all(dir);
}

// Signing out on one node closes the session's sockets on the other node too, and a session
// the user keeps stays connected there.
TEST(MultiNode, EndedSessionsCloseTheirSocketsOnEveryNode) {
  ensure_migrated();
  auto dir = make_temp_dir("redoubt-multinode-");
  server_options opts;
  opts.extra_toml = nats_toml(dir);
  server_process node_a(opts), node_b(opts);
  node_a.start();
  node_b.start();
  auto u = make_user(node_a, "se");
  auto laptop = node_b.client();
  auto signed_in = laptop.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}});
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  const auto laptop_session = signed_in.json().at("session_id").as_int64();
  auto phone = node_b.client();
  ASSERT_EQ(phone.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}}).status,
            200);
  auto room = make_room(u, "private");

  auto on_laptop = node_b.ws(laptop.cookie_header());
  auto on_phone = node_b.ws(phone.cookie_header());
  for (auto* ws : {&on_laptop, &on_phone}) {
    EXPECT_EQ(ws->read().at("type").as_string(), "hello");
    ws->send(json::object{{"type", "subscribe"}, {"id", "s"}});
    ws->read_type("subscribed");
  }
  // Revoked through node A; the socket lives on node B.
  ASSERT_EQ(u.http.del("/api/v1/sessions/" + std::to_string(laptop_session)).status, 204);
  EXPECT_EQ(on_laptop.wait_closed(std::chrono::seconds(3)), 4401);
  auto wa = connect_ws(node_a, u);
  wa.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "k1"}, {"body", "phone still here"}});
  auto ev = on_phone.read_until(is_event);
  EXPECT_EQ(ev.at("data").at("body").as_string(), "phone still here");

  // Signing out everywhere else from node A (password change) ends the phone on node B.
  ASSERT_EQ(u.http.post("/api/v1/me/password", json::object{{"current_password", test_password},
                                                             {"new_password", "another long passphrase 3"},
                                                             {"end_other_sessions", true}})
                .status,
            204);
  EXPECT_EQ(on_phone.wait_closed(std::chrono::seconds(3)), 4401);
  std::filesystem::remove_all(dir);
}

// The broker is not trusted: whoever holds it, or the server's NATS password, sees only sealed
// frames, and what they publish (a forged membership, a forged message, a replayed frame)
// reaches no client and is counted.
TEST(MultiNode, TheBrokerSeesCiphertextAndCannotForgeOrReplay) {
  ensure_migrated();
  auto dir = make_temp_dir("redoubt-multinode-");
  server_options opts;
  opts.extra_toml = nats_toml(dir);
  server_process node_a(opts), node_b(opts);
  node_a.start();
  node_b.start();
  auto alice = make_user(node_a, "ba");
  auto mallory = make_user(node_a, "bm");
  auto room = make_room(alice, "private");
  const auto subject = "room." + std::to_string(room);

  // A broker-side reader with the server's own credentials.
  natsConnection* raw = nullptr;
  natsOptions* o = nats_server::shared().options(nats_role::server);
  ASSERT_EQ(natsConnection_Connect(&raw, o), NATS_OK);
  natsOptions_Destroy(o);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, raw, "room.>"), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(raw, 1000), NATS_OK);

  auto on_a = connect_ws(node_a, alice);
  auto intruder = connect_ws(node_a, mallory);
  auto on_b = connect_ws(node_b, alice);
  on_b.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "b1"}, {"body", "the launch code is 0000"}});
  auto delivered = on_a.read_until(is_event);
  EXPECT_EQ(delivered.at("data").at("body").as_string(), "the launch code is 0000");
  std::string captured;
  for (natsMsg* m = nullptr; natsSubscription_NextMsg(&m, sub, 2000) == NATS_OK; natsMsg_Destroy(m), m = nullptr) {
    if (natsMsg_GetSubject(m) != subject) continue;
    captured.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    break;
  }
  ASSERT_FALSE(captured.empty()) << "the event crossed the broker";
  EXPECT_EQ(captured.find("launch code"), std::string::npos) << "the broker read the message";
  EXPECT_EQ(captured.find(alice.username), std::string::npos);

  // Forgeries in the old clear format and a replay of the genuine sealed frame.
  const auto seq = delivered.at("seq").as_int64();
  const std::string forged_join = "0000000000000000\n" + std::to_string(mallory.id) + "\n" + std::to_string(seq) +
                                  "\njoined";
  const std::string forged_event = "0000000000000000\n" + std::to_string(seq + 1) +
                                   "\n{\"type\":\"event\",\"room\":" + std::to_string(room) + ",\"seq\":" +
                                   std::to_string(seq + 1) + ",\"kind\":\"message\",\"data\":{\"body\":\"forged\"}}";
  ASSERT_EQ(natsConnection_PublishString(raw, (subject + ".member").c_str(), forged_join.c_str()), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(raw, subject.c_str(), forged_event.c_str()), NATS_OK);
  ASSERT_EQ(natsConnection_Publish(raw, subject.c_str(), captured.data(), static_cast<int>(captured.size())), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(raw, 1000), NATS_OK);

  while (auto f = intruder.try_read(std::chrono::milliseconds(800)))
    EXPECT_NE(f->as_object().at("type").as_string(), "event") << json::serialize(*f);
  while (auto f = on_a.try_read(std::chrono::milliseconds(300)))
    EXPECT_NE(f->as_object().at("type").as_string(), "event") << "forged or replayed: " << json::serialize(*f);
  const auto metrics = get_metrics(alice.http, node_a.metrics_token()).body;
  EXPECT_NE(metrics.find("redoubt_bus_frames_refused_total{reason=\"malformed\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("redoubt_bus_frames_refused_total{reason=\"replayed\"} 1"), std::string::npos) << metrics;

  natsSubscription_Destroy(sub);
  natsConnection_Destroy(raw);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace redoubt::test
