// Issue 12 point 8: request headers that are not valid UTF-8, or that a byte cut would split in
// the middle of a character, are stored repaired and cut on a character boundary. Sign-up and
// sign-in succeed completely (account, session, audit row) and no database text reaches the client.
#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

std::string sql(const std::string& q) {
  auto out = pg_cluster::shared().superuser_psql(q);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A raw 0xff byte, and a legitimate multi-byte User-Agent whose byte 256 falls inside a character.
const std::string raw_ff_agent = "Mozilla/5.0 (X11; \xff) Gecko";
const std::string cut_agent = std::string(255, 'a') + "\xC3\xA9" + "\xE6\x97\xA5\xE6\x9C\xAC";

void expect_no_database_text(const http_response& res) {
  for (const char* leak : {"byte sequence", "UTF8", "0xff", "0xc3", "violates", "constraint", "sessions", "users"})
    EXPECT_EQ(res.body.find(leak), std::string::npos) << res.body;
}

void expect_signed_up_completely(server_process& server, const std::string& agent) {
  auto http = server.client();
  auto name = unique_name("ua");
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", name + "@example.test"}, {"password", test_password}},
                       {{"User-Agent", agent}});
  expect_no_database_text(res);
  ASSERT_EQ(res.status, 201) << res.body;
  const auto id = std::to_string(res.json().at("user").at("id").as_int64());
  ASSERT_EQ(http.get("/api/v1/me").status, 200);
  auto sessions = http.get("/api/v1/sessions");
  ASSERT_EQ(sessions.status, 200);
  ASSERT_EQ(sessions.json().at("sessions").as_array().size(), 1u);
  const std::string stored(sessions.json().at("sessions").as_array()[0].at("user_agent").as_string());
  EXPECT_LE(stored.size(), 256u);
  EXPECT_TRUE(stored.starts_with(agent.substr(0, 12))) << stored;
  EXPECT_EQ(sql("SELECT count(*) FROM audit_log WHERE action = 'user.register' AND actor_id = " + id), "1");
  EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE kind = 'verify_email' AND payload->>'user_id' = '" + id + "'"),
            "1");
}

void expect_signed_in_completely(server_process& server, const std::string& agent) {
  auto u = make_user(server, "ual");
  auto http = server.client();
  auto res = http.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}},
                       {{"User-Agent", agent}});
  expect_no_database_text(res);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(http.get("/api/v1/me").status, 200);
  const auto id = std::to_string(u.id);
  EXPECT_EQ(sql("SELECT count(*) FROM sessions WHERE user_id = " + id), "2");
  EXPECT_EQ(sql("SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'ok' AND actor_id = " + id),
            "1");
}

TEST(HeaderText, SignUpWithRawFfUserAgentCreatesAccountSessionAndAuditRow) {
  auto& server = shared_server();
  expect_signed_up_completely(server, raw_ff_agent);
}

TEST(HeaderText, SignUpWithUserAgentCutMidCharacterAtByte256) {
  auto& server = shared_server();
  expect_signed_up_completely(server, cut_agent);
  // The stored value is the 255 ASCII bytes: the split character is dropped, not half-kept.
  EXPECT_NE(sql("SELECT count(*) FROM sessions WHERE user_agent = repeat('a', 255)"), "0");
}

TEST(HeaderText, LoginWithRawFfUserAgentSignsIn) {
  auto& server = shared_server();
  expect_signed_in_completely(server, raw_ff_agent);
}

TEST(HeaderText, LoginWithUserAgentCutMidCharacterAtByte256SignsIn) {
  auto& server = shared_server();
  expect_signed_in_completely(server, cut_agent);
}

// A failed sign-up writes nothing: a taken username leaves no second account, session or row.
TEST(HeaderText, RefusedSignUpWritesNothingAndShowsNoDatabaseText) {
  auto& server = shared_server();
  auto u = make_user(server, "uat");
  auto http = server.client();
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", u.username}, {"email", "x" + u.username + "@example.test"},
                                    {"password", test_password}},
                       {{"User-Agent", raw_ff_agent}});
  EXPECT_EQ(res.status, 409) << res.body;
  expect_no_database_text(res);
  EXPECT_EQ(sql("SELECT count(*) FROM users WHERE email = 'x" + u.username + "@example.test'"), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM sessions WHERE user_id = " + std::to_string(u.id)), "1");
}

}  // namespace
}  // namespace redoubt::test
