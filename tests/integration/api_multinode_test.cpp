// Two redoubt-server nodes sharing PostgreSQL and NATS: a message committed on one node reaches
// clients of the other in real time, and resuming on the other node is gapless.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "integration/api_env.hpp"
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
         pass + "\"\nca_file = \"" + nats.ca_file() + "\"\n[jobs]\nsigning_key_file = \"" + dir + "/signing.key\"\n";
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

}  // namespace
}  // namespace redoubt::test
