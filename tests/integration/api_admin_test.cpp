// Account settings and the administration endpoints: display name, password change (ending
// the other sessions), users (disable, promote), the audit log viewer and its chain check.
#include "api_env.hpp"

namespace redoubt::test {
namespace {

std::string sql(const std::string& q) {
  auto out = pg_cluster::shared().superuser_psql(q);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

test_user make_admin(server_process& server) {
  auto u = make_user(server, "adm");
  sql("UPDATE users SET is_admin = true WHERE id = " + std::to_string(u.id));
  return u;
}

https_client login(server_process& server, const std::string& username, const std::string& password, int* status) {
  auto http = server.client();
  *status = http.post("/api/v1/auth/login", json::object{{"username", username}, {"password", password}}).status;
  return http;
}

}  // namespace

TEST(Settings, DisplayNameIsValidatedAndStored) {
  auto& server = shared_server();
  auto u = make_user(server, "dn");
  const bool was_admin = u.http.get("/api/v1/me").json().at("user").at("is_admin").as_bool();
  auto ok = u.http.patch("/api/v1/me", json::object{{"display_name", "  Ada Lovelace \xe2\x9c\x93 "}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("user").at("display_name").as_string(), "Ada Lovelace \xe2\x9c\x93");
  EXPECT_EQ(u.http.get("/api/v1/me").json().at("user").at("display_name").as_string(), "Ada Lovelace \xe2\x9c\x93");
  EXPECT_EQ(u.http.patch("/api/v1/me", json::object{{"display_name", "a\nb"}}).status, 400);
  EXPECT_EQ(u.http.patch("/api/v1/me", json::object{{"display_name", std::string(65, 'x')}}).status, 400);
  EXPECT_EQ(u.http.patch("/api/v1/me", json::object{{"display_name", "x"}, {"is_admin", true}}).status, 400);
  EXPECT_EQ(u.http.get("/api/v1/me").json().at("user").at("is_admin").as_bool(), was_admin);
}

TEST(Settings, PasswordChangeNeedsTheCurrentOneAndCanEndOtherSessions) {
  auto& server = shared_server();
  auto u = make_user(server, "pw");
  int status = 0;
  auto other = login(server, u.username, test_password, &status);
  ASSERT_EQ(status, 200);
  const std::string fresh = "a brand new passphrase 2026";
  auto wrong = u.http.post("/api/v1/me/password",
                           json::object{{"current_password", "not it at all 123"}, {"new_password", fresh}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(error_code(wrong), "permission_denied");
  auto weak = u.http.post("/api/v1/me/password", json::object{{"current_password", test_password}, {"new_password", "short"}});
  EXPECT_EQ(weak.status, 400);
  // Still the old password everywhere.
  login(server, u.username, test_password, &status);
  EXPECT_EQ(status, 200);
  auto changed = u.http.post("/api/v1/me/password", json::object{{"current_password", test_password},
                                                                 {"new_password", fresh},
                                                                 {"end_other_sessions", true}});
  ASSERT_EQ(changed.status, 204) << changed.body;
  EXPECT_EQ(u.http.get("/api/v1/me").status, 200) << "the session that changed it stays";
  EXPECT_EQ(other.get("/api/v1/me").status, 401) << "every other session ended";
  login(server, u.username, test_password, &status);
  EXPECT_EQ(status, 401);
  login(server, u.username, fresh, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(sql("SELECT string_agg(outcome, ',' ORDER BY id) FROM audit_log WHERE action = 'user.password_change' "
                "AND actor_id = " + std::to_string(u.id)),
            "denied,ok");
}

TEST(Admin, OnlyAdminsManageUsersAndNobodyLocksThemselvesOut) {
  auto& server = shared_server();
  auto admin = make_admin(server);
  auto u = make_user(server, "managed");
  EXPECT_EQ(u.http.get("/api/v1/admin/users").status, 403);
  EXPECT_EQ(u.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{{"is_admin", true}}).status, 403);
  auto list = admin.http.get("/api/v1/admin/users");
  ASSERT_EQ(list.status, 200);
  bool found = false;
  const auto list_json = list.json();
  for (const auto& x : list_json.at("users").as_array())
    if (x.at("id").as_int64() == u.id) found = !x.at("disabled").as_bool() && x.as_object().contains("email");
  EXPECT_TRUE(found);
  // Disabling ends the user's sessions and refuses logins until re-enabled.
  auto off = admin.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{{"disabled", true}});
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_TRUE(off.json().at("user").at("disabled").as_bool());
  EXPECT_EQ(u.http.get("/api/v1/me").status, 401);
  int status = 0;
  login(server, u.username, test_password, &status);
  EXPECT_EQ(status, 401);
  ASSERT_EQ(admin.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{{"disabled", false}}).status,
            200);
  login(server, u.username, test_password, &status);
  EXPECT_EQ(status, 200);
  // Promotion works; turning oneself off or down does not.
  auto up = admin.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{{"is_admin", true}});
  EXPECT_TRUE(up.json().at("user").at("is_admin").as_bool());
  EXPECT_EQ(admin.http.patch("/api/v1/admin/users/" + std::to_string(admin.id), json::object{{"disabled", true}}).status,
            412);
  EXPECT_EQ(admin.http.patch("/api/v1/admin/users/" + std::to_string(admin.id), json::object{{"is_admin", false}}).status,
            412);
  EXPECT_EQ(admin.http.patch("/api/v1/admin/users/999999999", json::object{{"disabled", true}}).status, 404);
  EXPECT_EQ(admin.http.patch("/api/v1/admin/users/" + std::to_string(u.id), json::object{}).status, 400);
  EXPECT_EQ(sql("SELECT count(*) FROM audit_log WHERE action = 'admin.update_user' AND target = 'user:" +
                std::to_string(u.id) + "'"),
            "3");
}

TEST(Admin, AuditViewerPagesTheLogAndShowsWhetherTheChainVerifies) {
  auto& server = shared_server();
  auto admin = make_admin(server);
  EXPECT_EQ(make_user(server).http.get("/api/v1/admin/audit").status, 403);
  auto first = admin.http.get("/api/v1/admin/audit?limit=3");
  ASSERT_EQ(first.status, 200) << first.body;
  auto page = first.json().as_object();
  ASSERT_EQ(page.at("entries").as_array().size(), 3u);
  const auto& e = page.at("entries").as_array();
  EXPECT_GT(e[0].at("id").as_int64(), e[1].at("id").as_int64());
  EXPECT_TRUE(page.at("chain").at("ok").as_bool());
  EXPECT_GT(page.at("chain").at("checked").as_int64(), 3);
  const auto before = page.at("next_before").as_int64();
  EXPECT_EQ(before, e[2].at("id").as_int64());
  auto second = admin.http.get("/api/v1/admin/audit?limit=3&before=" + std::to_string(before)).json();
  EXPECT_LT(second.at("entries").as_array()[0].at("id").as_int64(), before);
  EXPECT_EQ(admin.http.get("/api/v1/admin/audit?limit=500").status, 400);
  // A row altered behind the application's back shows up, with its id.
  const auto victim = e[2].at("id").as_int64();
  const auto original = sql("SELECT outcome FROM audit_log WHERE id = " + std::to_string(victim));
  sql("UPDATE audit_log SET outcome = 'forged' WHERE id = " + std::to_string(victim));
  auto tampered = admin.http.get("/api/v1/admin/audit?limit=1").json();
  sql("UPDATE audit_log SET outcome = '" + original + "' WHERE id = " + std::to_string(victim));
  EXPECT_FALSE(tampered.at("chain").at("ok").as_bool());
  EXPECT_EQ(tampered.at("chain").at("first_bad_id").as_int64(), victim);
  EXPECT_TRUE(admin.http.get("/api/v1/admin/audit?limit=1").json().at("chain").at("ok").as_bool());
}

}  // namespace redoubt::test
