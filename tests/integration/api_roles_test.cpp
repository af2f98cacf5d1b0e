// Least privilege in PostgreSQL: what the app and worker roles cannot read or change, and the
// audit log's tamper evidence. Connects with the real role credentials over verified TLS.
#include <fstream>

#include <boost/asio/this_coro.hpp>

#include "base/errc.hpp"
#include "db/pg.hpp"

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

// Runs one statement as `role`; returns the error code (errc::ok on success).
errc run_as(pg_role role, const std::string& sql) {
  auto settings = pg_cluster::shared().settings(role);
  return run_sync([](database_settings s, std::string q) -> boost::asio::awaitable<errc> {
    auto ex = co_await boost::asio::this_coro::executor;
    auto conn = co_await db::connection::connect(ex, s);
    if (!conn) co_return conn.error().code;
    auto r = co_await (*conn)->query(q);
    co_return r ? errc::ok : r.error().code;
  }(settings, sql));
}

TEST(Roles, AppRoleCannotChangeSchemaOrRewriteAudit) {
  ensure_migrated();
  auto& server = shared_server();
  make_user(server, "role");  // leaves at least one audit row
  EXPECT_EQ(run_as(pg_role::app, "SELECT count(*) FROM messages"), errc::ok);
  EXPECT_EQ(run_as(pg_role::app, "CREATE TABLE evil (x int)"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "DROP TABLE messages"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "ALTER TABLE users ADD COLUMN x int"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "UPDATE audit_log SET action = 'x'"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "DELETE FROM audit_log"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "SELECT * FROM audit_log"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::app, "DELETE FROM schema_migrations"), errc::permission_denied);
}

TEST(Roles, WorkerRoleCannotReadSecretsOrWriteMessages) {
  ensure_migrated();
  EXPECT_EQ(run_as(pg_role::worker, "SELECT id, username, email FROM users"), errc::ok);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT password_hash FROM users"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT token_hash FROM sessions"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT body FROM messages"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "INSERT INTO messages (room_id, seq, author_id, client_id, body) VALUES (1, 1, 1, 'x', 'x')"),
            errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "UPDATE users SET is_admin = true"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT * FROM post_batch('{1}', '{1}', '{x}', '{x}', '{NULL}', '{\"\"}', '{\"\"}')"),
            errc::permission_denied);
  // Attachments: the worker reads what thumbnails and scans need, never the signature or
  // the filename, and cannot create or re-key rows.
  EXPECT_EQ(run_as(pg_role::worker, "SELECT id, storage_name, wrapped_key FROM attachments"), errc::ok);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT filename FROM attachments"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT signature FROM attachments"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "UPDATE attachments SET wrapped_key = ''"), errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "SELECT * FROM attachment_insert(1, 1, 1, 'x', 'x', 'x', 1, 'x', 1, 'k', '', '', "
                                    "'ready', 1, 'c', false, false)"),
            errc::permission_denied);
  EXPECT_EQ(run_as(pg_role::worker, "CREATE TABLE evil (x int)"), errc::permission_denied);
}

TEST(Roles, AuditLogIsHashChained) {
  ensure_migrated();
  auto& server = shared_server();
  auto u = make_user(server, "chain");
  ASSERT_EQ(u.http.post("/api/v1/auth/logout", json::object{}).status, 204);
  // Each row's prev_hash is the previous row's hash, and each hash covers the row's content.
  auto broken = pg_cluster::shared().superuser_psql(
      "SELECT count(*) FROM (SELECT hash, prev_hash, lag(hash, 1, '') OVER (ORDER BY id) AS expected, "
      "encode(sha256(convert_to(concat_ws('|', id, iso(at), actor_id, action, target, ip, request_id, outcome, "
      "details::text, prev_hash), 'UTF8')), 'hex') AS recomputed FROM audit_log) c "
      "WHERE prev_hash <> expected OR hash <> recomputed");
  EXPECT_EQ(std::stoi(broken), 0) << broken;
  auto [ok_code, ok_out] = run_ctl({"audit", "verify"});
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_NE(ok_out.find("hash chain intact"), std::string::npos) << ok_out;
  auto rows = pg_cluster::shared().superuser_psql("SELECT count(*) FROM audit_log WHERE action IN ('user.register', 'auth.logout')");
  EXPECT_GE(std::stoi(rows), 2);
  // Tampering with one row breaks the chain at that row.
  pg_cluster::shared().superuser_psql("UPDATE audit_log SET outcome = 'tampered' WHERE id = (SELECT min(id) FROM audit_log)");
  auto after = pg_cluster::shared().superuser_psql(
      "SELECT count(*) FROM (SELECT hash, encode(sha256(convert_to(concat_ws('|', id, iso(at), actor_id, action, target, ip, "
      "request_id, outcome, details::text, prev_hash), 'UTF8')), 'hex') AS recomputed FROM audit_log) c WHERE hash <> recomputed");
  EXPECT_EQ(std::stoi(after), 1) << after;
  // The operator command finds it too, with a non-zero exit.
  auto [code, out] = run_ctl({"audit", "verify"});
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("TAMPERED"), std::string::npos) << out;
  pg_cluster::shared().superuser_psql("UPDATE audit_log SET outcome = 'ok' WHERE id = (SELECT min(id) FROM audit_log)");
  EXPECT_EQ(run_ctl({"audit", "verify"}).first, 0) << "restored row verifies again";
}

// CHAT-02: database activity monitoring by pgaudit: schema changes, role changes and reads of
// the audit log are recorded by PostgreSQL itself, with passwords redacted.
TEST(Roles, DatabaseActivityIsAudited) {
  ensure_migrated();
  ASSERT_EQ(run_ctl({"audit", "verify"}).first, 0);
  auto log_path = pg_cluster::shared().dir() + "/log/postgresql.log";
  std::ifstream in(log_path);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("AUDIT: SESSION"), std::string::npos);
  EXPECT_NE(log.find("DDL,CREATE TABLE"), std::string::npos) << "migrations' DDL is audited";
  EXPECT_NE(log.find("ROLE,ALTER ROLE"), std::string::npos) << "role changes are audited";
  EXPECT_NE(log.find("PASSWORD <REDACTED>"), std::string::npos);
  EXPECT_NE(log.find("READ,SELECT,TABLE,public.audit_log"), std::string::npos) << "audit log reads are audited";
  for (const char* role : {"owner", "app", "worker"}) {
    std::ifstream pw_in(pg_cluster::shared().dir() + "/secrets/" + role + ".pass");
    std::string pw;
    std::getline(pw_in, pw);
    ASSERT_GE(pw.size(), 16u);
    EXPECT_EQ(log.find(pw), std::string::npos) << role << " password in the database log";
  }
}

TEST(Roles, ConfigAndKeyPathsAreNotReachableOverHttp) {
  auto& server = shared_server();
  auto u = make_user(server, "trav");
  for (const char* path : {"/etc/passwd", "/../../etc/passwd", "/api/v1/../../etc/passwd", "/config.toml",
                           "/tls/server.key", "/api/v1/%2e%2e/%2e%2e/etc/passwd", "/var/config/server.toml"}) {
    auto res = u.http.get(path);
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_EQ(res.body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(res.body.find("PRIVATE KEY"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace redoubt::test
