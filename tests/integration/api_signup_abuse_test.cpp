// Issue 12 point 9: sign-up is limited per IP; password-reset requests are limited per address
// and per IP; a sign-up with an address that already has an account answers exactly like a
// fresh one and queues a notice to the address's owner instead of a verification link.
// (The emails themselves are checked end to end in jobs_test.cpp.)
#include <set>

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

server_process& abuse_server() {
  static std::unique_ptr<server_process> server = [] {
    ensure_migrated();
    server_options opts;
    opts.extra_toml = relaxed_limits;
    opts.auth_toml =
        "signups_per_hour_per_ip = 3\npassword_resets_per_hour_per_ip = 4\npassword_resets_per_hour_per_address = 2\n";
    auto s = std::make_unique<server_process>(opts);
    s->start();
    return s;
  }();
  return *server;
}

std::string sql(const std::string& q) {
  auto out = pg_cluster::shared().superuser_psql(q);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

https_client client_from(server_process& server, const std::string& ip) {
  auto http = server.client();
  http.set_source_address(ip);
  return http;
}

http_response sign_up(https_client& http, const std::string& name, const std::string& email) {
  return http.post("/api/v1/auth/register",
                   json::object{{"username", name}, {"email", email}, {"password", test_password}});
}

std::set<std::string> keys_of(const json::object& o) {
  std::set<std::string> out;
  for (const auto& kv : o) out.insert(std::string(kv.key()));
  return out;
}

TEST(SignUpAbuse, SignUpsPerIpAreLimited) {
  auto& server = abuse_server();
  for (int i = 0; i < 3; ++i) {
    auto http = client_from(server, "127.0.5.1");
    auto name = unique_name("sl");
    EXPECT_EQ(sign_up(http, name, name + "@example.test").status, 201) << i;
  }
  auto http = client_from(server, "127.0.5.1");
  auto name = unique_name("sl");
  auto refused = sign_up(http, name, name + "@example.test");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(error_code(refused), "resource_exhausted");
  EXPECT_EQ(sql("SELECT count(*) FROM users WHERE username = '" + name + "'"), "0");
  // Another address is not affected.
  auto other = client_from(server, "127.0.5.2");
  EXPECT_EQ(sign_up(other, name, name + "@example.test").status, 201);
}

TEST(SignUpAbuse, AnAddressInUseAnswersLikeAFreshSignUpAndTheOwnerIsNotified) {
  auto& server = abuse_server();
  auto fresh_http = client_from(server, "127.0.5.10");
  auto owner_name = unique_name("own");
  const std::string address = owner_name + "@example.test";
  auto fresh = sign_up(fresh_http, owner_name, address);
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  const auto owner_id = fresh.json().at("user").at("id").as_int64();

  auto again_http = client_from(server, "127.0.5.11");
  auto name = unique_name("dup");
  auto again = sign_up(again_http, name, address);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.body.find("already"), std::string::npos) << again.body;
  // The same answer: status, fields, cookie, and the account as the caller asked for it.
  const auto again_body = again.json();
  const auto fresh_body = fresh.json();
  EXPECT_EQ(keys_of(again_body.as_object()), keys_of(fresh_body.as_object()));
  const auto& a = again_body.at("user").as_object();
  const auto& f = fresh_body.at("user").as_object();
  EXPECT_EQ(keys_of(a), keys_of(f));
  EXPECT_EQ(a.at("email"), json::value(address));
  EXPECT_EQ(a.at("email_verified"), f.at("email_verified"));
  EXPECT_EQ(again.header("set-cookie").empty(), fresh.header("set-cookie").empty());
  auto me = again_http.get("/api/v1/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.json().at("user").at("email"), json::value(address));
  const auto new_id = std::to_string(a.at("id").as_int64());
  // The owner gets a notice; the new account no verification link for someone else's address.
  EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE kind = 'signup_existing_email' AND payload->>'user_id' = '" +
                std::to_string(owner_id) + "'"),
            "1");
  EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE kind = 'verify_email' AND payload->>'user_id' = '" + new_id + "'"),
            "0");
  EXPECT_EQ(sql("SELECT details->>'email_in_use' FROM audit_log WHERE action = 'user.register' AND actor_id = " +
                new_id),
            "true");
  // Usernames are public: a taken one is still a conflict, and the answer does not mention email.
  auto taken_http = client_from(server, "127.0.5.12");
  auto taken = sign_up(taken_http, name, "someone-else-" + address);
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(error_code(taken), "already_exists");
  EXPECT_EQ(taken.body.find("email"), std::string::npos) << taken.body;
}

TEST(SignUpAbuse, PasswordResetRequestsAreLimitedPerAddressAndPerIp) {
  auto& server = abuse_server();
  auto http = client_from(server, "127.0.6.1");
  auto owner_name = unique_name("rs");
  ASSERT_EQ(sign_up(http, owner_name, owner_name + "@example.test").status, 201);
  auto owner_id = sql("SELECT id FROM users WHERE username = '" + owner_name + "'");
  auto reset = [&](https_client& c, const std::string& email) {
    return c.post("/api/v1/auth/password-reset", json::object{{"email", email}});
  };
  auto anon = client_from(server, "127.0.6.2");
  // Per address, whether or not it has an account: the same answers.
  for (const auto& email : {owner_name + "@example.test", "nobody-" + owner_name + "@example.test"}) {
    EXPECT_EQ(reset(anon, email).status, 202) << email;
    EXPECT_EQ(reset(anon, email).status, 202) << email;
    auto refused = reset(anon, email);
    EXPECT_EQ(refused.status, 429) << email;
    EXPECT_EQ(error_code(refused), "resource_exhausted");
  }
  EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE kind = 'password_reset' AND payload->>'user_id' = '" + owner_id +
                "'"),
            "2");
  // Per IP: 4 accepted requests from 127.0.6.2 so far; a fifth address is refused there...
  auto fifth = "other-" + owner_name + "@example.test";
  EXPECT_EQ(reset(anon, fifth).status, 429);
  // ...and accepted from another address.
  auto elsewhere = client_from(server, "127.0.6.3");
  EXPECT_EQ(reset(elsewhere, fifth).status, 202);
}

}  // namespace
}  // namespace redoubt::test
