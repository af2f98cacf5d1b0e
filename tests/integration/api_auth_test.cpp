// Accounts and sessions over the real server: registration, login, cookies, logout,
// session listing and revocation, password policy, bad input.
#include <fstream>
#include <iterator>

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

TEST(Auth, RegisterSetsHardenedSessionCookieAndMeWorks) {
  auto& server = shared_server();
  auto http = server.client();
  auto name = unique_name("reg");
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", name + "@example.test"}, {"password", test_password}});
  ASSERT_EQ(res.status, 201) << res.body;
  auto cookie = res.header("set-cookie");
  EXPECT_EQ(cookie.rfind("__Host-redoubt_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  // The token is 256 bits of base64url: 43 characters.
  auto token = http.cookie("__Host-redoubt_session");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 43u);
  EXPECT_EQ(res.body.find(*token), std::string::npos) << "token must not be in the body";
  EXPECT_NE(res.header("strict-transport-security").find("max-age="), std::string::npos);

  auto me = http.get("/api/v1/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("user").at("username").as_string(), name);
  EXPECT_EQ(me.body.find("password"), std::string::npos);
}

TEST(Auth, DuplicateUsernameIsConflict) {
  auto& server = shared_server();
  auto u = make_user(server);
  auto http = server.client();
  auto res = http.post("/api/v1/auth/register", json::object{{"username", u.username},
                                                             {"email", "other-" + u.username + "@example.test"},
                                                             {"password", test_password}});
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(error_code(res), "already_exists");
}

TEST(Auth, PasswordPolicyRejectsShortCommonAndUsername) {
  auto& server = shared_server();
  auto http = server.client();
  auto name = unique_name("pw");
  auto attempt = [&](const std::string& pw) {
    return http.post("/api/v1/auth/register",
                     json::object{{"username", name}, {"email", name + "@example.test"}, {"password", pw}});
  };
  auto short_pw = attempt("short");
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_NE(short_pw.body.find("at least"), std::string::npos) << short_pw.body;
  auto common = attempt("password1234");
  EXPECT_EQ(common.status, 400);
  EXPECT_NE(common.body.find("common"), std::string::npos) << common.body;
  auto contains_name = attempt("my name is " + name + "!!");
  EXPECT_EQ(contains_name.status, 400);
  // Nothing was created by the refused attempts: the name is still free.
  EXPECT_EQ(attempt(test_password).status, 201);
}

TEST(Auth, BadInputGetsClearErrors) {
  auto& server = shared_server();
  auto http = server.client();
  auto bad_json = http.request("POST", "/api/v1/auth/register", "{\"username\":", {{"Content-Type", "application/json"}});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(error_code(bad_json), "invalid_argument");
  auto wrong_type = http.post("/api/v1/auth/register", json::object{{"username", 5}, {"email", "a@b.test"}, {"password", test_password}});
  EXPECT_EQ(wrong_type.status, 400);
  auto unknown_field = http.post("/api/v1/auth/login", json::object{{"username", "x"}, {"password", "y"}, {"admin", true}});
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_NE(unknown_field.body.find("admin"), std::string::npos);
  auto bad_name = http.post("/api/v1/auth/register",
                            json::object{{"username", "../etc"}, {"email", "a@b.test"}, {"password", test_password}});
  EXPECT_EQ(bad_name.status, 400);
  auto bad_email = http.post("/api/v1/auth/register",
                             json::object{{"username", unique_name("em")}, {"email", "a@b\r\nBcc: x@y.test"}, {"password", test_password}});
  EXPECT_EQ(bad_email.status, 400);
  auto form = http.request("POST", "/api/v1/auth/login", "username=a&password=b",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 400) << "form posts (CSRF vector) must be refused";
  auto no_endpoint = http.get("/api/v1/nope");
  EXPECT_EQ(no_endpoint.status, 401);  // unauthenticated first: no endpoint map for strangers
}

TEST(Auth, LoginWrongPasswordAndUnknownUserLookTheSame) {
  auto& server = shared_server();
  auto u = make_user(server);
  auto http = server.client();
  auto wrong = http.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", "not the password at all"}});
  auto unknown = http.post("/api/v1/auth/login", json::object{{"username", "nobody-" + u.username}, {"password", "not the password at all"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  auto ok = http.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(http.get("/api/v1/me").status, 200);
}

TEST(Auth, LogoutRevokesTheTokenEvenIfStolen) {
  auto& server = shared_server();
  auto u = make_user(server);
  auto stolen = *u.http.cookie("__Host-redoubt_session");
  EXPECT_EQ(u.http.post("/api/v1/auth/logout", json::object{}).status, 204);
  auto attacker = server.client();
  attacker.set_cookie("__Host-redoubt_session", stolen);
  auto res = attacker.get("/api/v1/me");
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(error_code(res), "unauthenticated");
  EXPECT_THROW(server.ws(attacker.cookie_header()), ws_upgrade_refused);
}

TEST(Auth, ListAndRevokeOtherSession) {
  auto& server = shared_server();
  auto u = make_user(server);
  auto second = server.client();
  ASSERT_EQ(second.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}}).status, 200);
  auto list = u.http.get("/api/v1/sessions");
  ASSERT_EQ(list.status, 200);
  auto sessions = list.json().at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 2u);
  std::int64_t other = 0;
  for (const auto& s : sessions)
    if (!s.at("current").as_bool()) other = s.at("id").as_int64();
  ASSERT_NE(other, 0);
  EXPECT_EQ(u.http.del("/api/v1/sessions/" + std::to_string(other)).status, 204);
  EXPECT_EQ(second.get("/api/v1/me").status, 401);
  EXPECT_EQ(u.http.get("/api/v1/me").status, 200);
  // Someone else's session id is not found, not revoked.
  auto v = make_user(server);
  EXPECT_EQ(v.http.del("/api/v1/sessions/" + std::to_string(sessions[0].at("id").as_int64())).status, 404);
}

TEST(Auth, UnauthenticatedRequestsAreRefused) {
  auto& server = shared_server();
  auto http = server.client();
  for (const char* path : {"/api/v1/me", "/api/v1/rooms", "/api/v1/sessions", "/api/v1/rooms/1/messages"}) {
    auto res = http.get(path);
    EXPECT_EQ(res.status, 401) << path;
    EXPECT_EQ(error_code(res), "unauthenticated") << path;
  }
  EXPECT_THROW(server.ws(""), ws_upgrade_refused);
}

TEST(Health, HealthReadyMetrics) {
  auto& server = shared_server();
  auto http = server.client();
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.get("/readyz").status, 200);
  auto m = get_metrics(http, server.metrics_token());
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("redoubt_db_pool_in_use"), std::string::npos);
  EXPECT_NE(m.body.find("redoubt_http_requests_total"), std::string::npos);
  EXPECT_NE(m.body.find("redoubt_commit_batches_total"), std::string::npos);
}

// /metrics answers only the bearer token of server.metrics_token_file, and costs from the
// per-IP request bucket like any other route.
TEST(Health, MetricsNeedTheBearerTokenAndAreThrottledPerIp) {
  ensure_migrated();
  server_options opts;
  opts.extra_toml = "[limits]\nrequests_per_second_per_ip = 1\nrequests_burst_per_ip = 6\n";
  server_process server(opts);
  server.start();
  const auto& token = server.metrics_token();
  ASSERT_GE(token.size(), 32u);
  auto http = server.client();
  auto refused = [](const http_response& r, const std::string& what) {
    EXPECT_EQ(r.status, 401) << what << ": " << r.body;
    if (r.status != 401) return;
    EXPECT_EQ(r.json().at("error").at("code").as_string(), "unauthenticated") << what;
    EXPECT_EQ(r.header("www-authenticate"), "Bearer") << what;
    EXPECT_EQ(r.body.find("redoubt_"), std::string::npos) << what;
  };
  refused(http.get("/metrics"), "no token");
  std::string wrong = token;
  wrong.back() = wrong.back() == 'x' ? 'y' : 'x';
  refused(get_metrics(http, wrong), "a token differing in its last character");
  refused(get_metrics(http, token + "x"), "a longer token");
  refused(http.get("/metrics", {{"Authorization", "Basic " + token}}), "another scheme");
  auto ok = get_metrics(http, token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("redoubt_http_requests_total"), std::string::npos);

  int throttled = 0;
  for (int i = 0; i < 10; ++i) throttled += get_metrics(http, token).status == 429;
  EXPECT_GE(throttled, 5) << "/metrics is throttled per IP, token or not";
  auto other = server.client();
  other.set_source_address("127.0.0.2");
  EXPECT_EQ(get_metrics(other, token).status, 200) << "another address has its own bucket";
}

TEST(Health, MetricsAreNotExposedWithoutAConfiguredToken) {
  ensure_migrated();
  server_options opts;
  opts.metrics_token = false;
  server_process server(opts);
  server.start();
  auto http = server.client();
  auto plain = http.get("/metrics");
  EXPECT_EQ(plain.status, 404) << plain.body;
  EXPECT_EQ(plain.json().at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(get_metrics(http, "anything-at-all-0123456789abcdef0123").status, 404);
  EXPECT_EQ(http.get("/healthz").status, 200);
}

// A token file shorter than 32 characters is refused at start-up.
TEST(Health, AShortMetricsTokenIsRefusedAtStartUp) {
  ensure_migrated();
  server_options opts;
  opts.metrics_token = false;
  server_process server(opts);
  write_secret_file(server.dir() + "/short.token", "too-short\n");
  {
    std::ifstream in(server.config_path());
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = config.find("[server]\n") + 9;
    config.insert(at, "metrics_token_file = " + quote_toml(server.dir() + "/short.token") + "\n");
    write_secret_file(server.config_path(), config);
  }
  EXPECT_ANY_THROW(server.start());
  EXPECT_FALSE(server.running());
  EXPECT_NE(server.log().find("metrics_token_file must hold at least 32 characters"), std::string::npos)
      << server.log();
}

}  // namespace
}  // namespace redoubt::test

namespace redoubt::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// WEB-11: after sign-ups, logins (good and bad), a WebSocket session and a logout, the server
// log holds no password, no session token and no database credential.
TEST(Logs, ServerLogContainsNoSecrets) {
  auto& server = shared_server();
  auto u = make_user(server, "log");
  auto token = *u.http.cookie("__Host-redoubt_session");
  auto other = server.client();
  other.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", "wrong but secret-ish 991"}});
  ASSERT_EQ(other.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}}).status, 200);
  auto token2 = *other.cookie("__Host-redoubt_session");
  {
    auto ws = connect_ws(server, u);
    ws.send(json::object{{"type", "ping"}});
    ws.read();
  }
  ASSERT_EQ(u.http.post("/api/v1/auth/logout", json::object{}).status, 204);
  auto db_password = read_file(pg_cluster::shared().dir() + "/secrets/app.pass");
  while (!db_password.empty() && (db_password.back() == '\n')) db_password.pop_back();
  ASSERT_GE(db_password.size(), 16u);
  auto log = server.log();
  ASSERT_NE(log.find("http_request"), std::string::npos) << "the log is being written";
  // WEB-08: requests are attributable: the request line names the user.
  EXPECT_NE(log.find("\"user_id\":" + std::to_string(u.id) + ","), std::string::npos);
  EXPECT_EQ(log.find(test_password), std::string::npos);
  EXPECT_EQ(log.find("wrong but secret-ish 991"), std::string::npos);
  EXPECT_EQ(log.find(token), std::string::npos);
  EXPECT_EQ(log.find(token2), std::string::npos);
  EXPECT_EQ(log.find(db_password), std::string::npos);
}

}  // namespace
}  // namespace redoubt::test
