// A session that ends closes the WebSocket connections opened with it, at once and for good:
// sign-out, revocation from the session list, "sign out other sessions" on a password change,
// a password reset, an admin disabling the account, and the session's own expiry. The closed
// connection gets close code 4401 and no event committed after the session ended.
#include <thread>

#include "api_env.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::test {
namespace {

constexpr int session_ended_code = 4401;

std::string sql(const std::string& q) {
  auto out = pg_cluster::shared().superuser_psql(q);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A second signed-in client of the same user (another device).
struct device {
  https_client http;
  std::int64_t session_id = 0;
};

device sign_in_again(server_process& server, const test_user& u) {
  auto http = server.client();
  auto res = http.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}});
  EXPECT_EQ(res.status, 200) << res.body;
  return device{std::move(http), res.json().at("session_id").as_int64()};
}

ws_client connect_with(server_process& server, const https_client& http) {
  auto ws = server.ws(http.cookie_header());
  EXPECT_EQ(ws.read().at("type").as_string(), "hello");
  ws.send(json::object{{"type", "subscribe"}, {"id", "s1"}});
  ws.read_type("subscribed");
  return ws;
}

bool is_event(const json::object& f) { return f.at("type").as_string() == "event"; }

// Posts `body` into the room through `ws` and waits for its ack.
void post(ws_client& ws, std::int64_t room, const std::string& client_id, const std::string& body) {
  ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", client_id}, {"body", body}});
  ws.read_type("ack");
}

// The connection closes with 4401, and none of the frames it got before the close is an
// event with the given body (one posted after the session ended).
void expect_ended_before(ws_client& ws, const std::string& later_body) {
  EXPECT_EQ(ws.wait_closed(std::chrono::seconds(3)), session_ended_code);
  for (const auto& f : ws.skipped()) {
    if (!f.is_object() || !is_event(f.as_object())) continue;
    const auto& data = f.as_object().at("data");
    if (data.is_object() && data.as_object().contains("body")) {
      EXPECT_NE(data.as_object().at("body").as_string(), later_body) << "event delivered after the session ended";
    }
  }
}

// The connection is still live: it receives a new event of the room.
void expect_live(ws_client& ws, std::int64_t room, ws_client& writer, const std::string& body) {
  static int sent = 0;
  post(writer, room, "live" + std::to_string(++sent), body);
  auto ev = ws.read_until([&](const json::object& f) {
    return is_event(f) && f.at("data").as_object().contains("body") && f.at("data").at("body").as_string() == body;
  });
  EXPECT_EQ(ev.at("room").as_int64(), room);
}

TEST(Sessions, SignOutClosesThatSessionsSocketsOnly) {
  auto& server = shared_server();
  auto u = make_user(server, "so");
  auto other = sign_in_again(server, u);
  auto friend_user = make_user(server, "sof");
  auto room = make_room(friend_user, "public");
  ASSERT_EQ(u.http.post("/api/v1/rooms/" + std::to_string(room) + "/join", json::object{}).status, 200);
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  auto writer = connect_ws(server, friend_user);

  ASSERT_EQ(u.http.post("/api/v1/auth/logout", json::object{}).status, 204);
  post(writer, room, "after-logout", "after logout");
  expect_ended_before(mine, "after logout");
  expect_live(theirs, room, writer, "still here");
}

TEST(Sessions, RevokedSessionsSocketClosesAndGetsNothingMore) {
  auto& server = shared_server();
  auto u = make_user(server, "rv");
  auto other = sign_in_again(server, u);
  auto room = make_room(u, "private");
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);

  ASSERT_EQ(u.http.del("/api/v1/sessions/" + std::to_string(other.session_id)).status, 204);
  post(mine, room, "after-revoke", "after revoke");
  expect_ended_before(theirs, "after revoke");
  // A frame the revoked socket had in flight is not acted on, and the cookie is dead.
  EXPECT_EQ(other.http.get("/api/v1/me").status, 401);
  EXPECT_THROW(server.ws(other.http.cookie_header()), ws_upgrade_refused);
}

TEST(Sessions, PasswordChangeEndingOtherSessionsClosesTheirSockets) {
  auto& server = shared_server();
  auto u = make_user(server, "pc");
  auto other = sign_in_again(server, u);
  auto room = make_room(u, "private");
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  auto writer = connect_ws(server, u);

  // Without "end other sessions" every socket stays.
  const std::string next = "a brand new passphrase 7";
  ASSERT_EQ(u.http.post("/api/v1/me/password", json::object{{"current_password", test_password},
                                                             {"new_password", next}})
                .status,
            204);
  expect_live(theirs, room, writer, "kept");
  ASSERT_EQ(u.http.post("/api/v1/me/password", json::object{{"current_password", next},
                                                             {"new_password", test_password},
                                                             {"end_other_sessions", true}})
                .status,
            204);
  post(writer, room, "after-change", "after change");
  expect_ended_before(theirs, "after change");
  expect_live(mine, room, writer, "mine stays");
}

TEST(Sessions, PasswordResetClosesEverySocketOfTheUser) {
  auto& server = shared_server();
  auto u = make_user(server, "pr");
  auto other = sign_in_again(server, u);
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  // The token the reset email would carry.
  const std::string token = "resetTokenForTheSessionEndTest0123456789abc";
  ASSERT_EQ(token.size(), 43u);
  sql("INSERT INTO email_tokens (token_hash, purpose, user_id, job_id, expires_at) VALUES ('" +
      crypto::token_hash(token) + "', 'password_reset', " + std::to_string(u.id) +
      ", gen_random_uuid(), now() + interval '10 minutes')");
  auto anon = server.client();
  ASSERT_EQ(anon.post("/api/v1/auth/password-reset/confirm",
                      json::object{{"token", token}, {"password", "reset to something else 9"}})
                .status,
            204);
  EXPECT_EQ(mine.wait_closed(std::chrono::seconds(3)), session_ended_code);
  EXPECT_EQ(theirs.wait_closed(std::chrono::seconds(3)), session_ended_code);
}

TEST(Sessions, DisablingAnAccountClosesItsSockets) {
  auto& server = shared_server();
  auto admin = make_user(server, "sda");
  sql("UPDATE users SET is_admin = true WHERE id = " + std::to_string(admin.id));
  auto u = make_user(server, "sdu");
  auto other = sign_in_again(server, u);
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  auto bystander = make_user(server, "sdb");
  auto room = make_room(bystander, "private");
  auto writer = connect_ws(server, bystander);
  auto watcher = connect_ws(server, bystander);

  ASSERT_EQ(admin.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{{"disabled", true}}).status,
            200);
  EXPECT_EQ(mine.wait_closed(std::chrono::seconds(3)), session_ended_code);
  EXPECT_EQ(theirs.wait_closed(std::chrono::seconds(3)), session_ended_code);
  expect_live(watcher, room, writer, "others unaffected");
}

TEST(Sessions, SocketClosesWhenItsSessionExpires) {
  auto& server = shared_server();
  auto u = make_user(server, "ex");
  auto other = sign_in_again(server, u);
  sql("UPDATE sessions SET expires_at = now() + interval '2 seconds' WHERE id = " + std::to_string(other.session_id));
  auto expiring = connect_with(server, other.http);
  auto mine = connect_ws(server, u);
  auto room = make_room(u, "private");
  // Open past the moment it was connected, closed by the expiry.
  EXPECT_FALSE(expiring.try_read(std::chrono::milliseconds(500)).has_value());
  EXPECT_EQ(expiring.wait_closed(std::chrono::seconds(5)), session_ended_code);
  auto writer = connect_ws(server, u);
  expect_live(mine, room, writer, "unexpired");
}

// A server that checks its connections' sessions every second. The keys go into the [auth]
// table the harness writes last.
server_process& checking_server() {
  static std::unique_ptr<server_process> server = [] {
    ensure_migrated();
    server_options opts;
    opts.extra_toml = std::string("live_session_check_s = 1\nsession_idle_timeout_s = 120\n") + relaxed_limits;
    auto s = std::make_unique<server_process>(opts);
    s->start();
    return s;
  }();
  return *server;
}

// Ended in the database without any node being told (another tool, a lost bus message): the
// periodic check closes the socket.
TEST(Sessions, SessionEndedBehindTheServersBackClosesAtTheNextCheck) {
  auto& server = checking_server();
  auto u = make_user(server, "bb");
  auto other = sign_in_again(server, u);
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  sql("UPDATE sessions SET revoked_at = now() WHERE id = " + std::to_string(other.session_id));
  EXPECT_EQ(theirs.wait_closed(std::chrono::seconds(5)), session_ended_code);
  auto room = make_room(u, "private");
  auto writer = connect_ws(server, u);
  expect_live(mine, room, writer, "checked and kept");
}

// An open connection is use of its session: the idle timeout does not end a session whose
// socket stays open, and a session already idle past it is closed.
TEST(Sessions, OpenSocketKeepsItsSessionFromGoingIdle) {
  auto& server = checking_server();
  auto u = make_user(server, "id");
  auto other = sign_in_again(server, u);
  const auto mine_id = sql("SELECT max(id) FROM sessions WHERE user_id = " + std::to_string(u.id) +
                           " AND id <> " + std::to_string(other.session_id));
  auto mine = connect_ws(server, u);
  auto theirs = connect_with(server, other.http);
  // Mine was last used 100 s ago (idle after 120 s); theirs 200 s ago, already idle.
  sql("UPDATE sessions SET last_seen_at = now() - interval '100 seconds' WHERE id = " + mine_id);
  sql("UPDATE sessions SET last_seen_at = now() - interval '200 seconds' WHERE id = " +
      std::to_string(other.session_id));
  EXPECT_EQ(theirs.wait_closed(std::chrono::seconds(5)), session_ended_code);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string touched = "f";
  while (touched != "t" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    touched = sql("SELECT last_seen_at > now() - interval '30 seconds' FROM sessions WHERE id = " + mine_id);
  }
  EXPECT_EQ(touched, "t") << "the open socket did not mark its session used";
  EXPECT_TRUE(mine.is_open());
  EXPECT_EQ(u.http.get("/api/v1/me").status, 200);
}

}  // namespace
}  // namespace redoubt::test
