// Least privilege in PostgreSQL: what the app and worker roles cannot read or change, and the
// audit log's tamper evidence. Connects with the real role credentials over verified TLS.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

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

// psql's output without its newline.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Recomputes every hash after a change, as someone with write access to the table could: the
// chain alone then looks intact. Holds the chain's lock like the insert trigger.
void rewrite_chain() {
  pg_cluster::shared().superuser_psql(
      "DO $$ DECLARE r record; prev text := ''; BEGIN PERFORM pg_advisory_xact_lock(7001); "
      "FOR r IN SELECT id FROM audit_log ORDER BY id LOOP "
      "UPDATE audit_log SET prev_hash = prev, hash = encode(sha256(convert_to(concat_ws('|', id, iso(at), actor_id, "
      "action, target, ip, request_id, outcome, details::text, prev), 'UTF8')), 'hex') WHERE id = r.id "
      "RETURNING hash INTO prev; END LOOP; END $$");
}

// CHAT-10: signed checkpoints catch what the hash chain alone cannot: a chain rewritten with
// recomputed hashes, a log cut short, a forged checkpoint.
TEST(Roles, SignedCheckpointsCatchARewrittenOrTruncatedChain) {
  ensure_migrated();
  auto& psql = pg_cluster::shared();
  make_user(shared_server(), "ckpt");
  const auto head = std::stoll(psql.superuser_psql("SELECT max(id) FROM audit_log"));
  char tmpl[] = "/tmp/redoubt-ckpt-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const auto pub = dir + "/signing.pub";
  ASSERT_EQ(run_program({REDOUBTCTL_BIN, "keygen-signing", dir + "/signing.key", pub}).first, 0);
  // A server with a signing key signs the head when it starts (then hourly, so not again here).
  server_options opts;
  opts.extra_toml =
      "[jobs]\nsigning_key_file = " + quote_toml(dir + "/signing.key") + "\naudit_checkpoint_interval_s = 3600\n";
  server_process signer(opts);
  signer.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::stoll(psql.superuser_psql("SELECT count(*) FROM audit_checkpoints WHERE audit_id >= " +
                                        std::to_string(head))) == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no checkpoint within 20 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The administration page shows the newest checkpoint, checked with the server's key.
  auto admin = make_user(signer, "ckadmin");
  psql.superuser_psql("UPDATE users SET is_admin = true WHERE id = " + std::to_string(admin.id));
  auto page_checkpoint = [&] {
    auto res = admin.http.get("/api/v1/admin/audit?limit=1");
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json().as_object();
  };
  auto shown = page_checkpoint();
  EXPECT_EQ(shown.at("checkpoint").at("status").as_string(), "ok") << json::serialize(shown);
  EXPECT_GE(shown.at("checkpoint").at("audit_id").as_int64(), head);
  auto verify = [&](bool with_key) { return with_key ? run_ctl({"audit", "verify", "--key", pub}) : run_ctl({"audit", "verify"}); };
  auto [ok_code, ok_out] = verify(true);
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_NE(ok_out.find("checkpoints OK"), std::string::npos) << ok_out;

  // One row changed and every hash after it recomputed.
  const auto victim = std::to_string(head);
  const auto outcome = one_line(psql.superuser_psql("SELECT outcome FROM audit_log WHERE id = " + victim));
  psql.superuser_psql("UPDATE audit_log SET outcome = 'forged' WHERE id = " + victim);
  rewrite_chain();
  EXPECT_EQ(verify(false).first, 0) << "without the key only the chain is checked, and it was recomputed";
  auto [rewritten_code, rewritten_out] = verify(true);
  EXPECT_EQ(rewritten_code, 3) << rewritten_out;
  EXPECT_NE(rewritten_out.find("the chain was rewritten"), std::string::npos) << rewritten_out;
  auto rewritten_page = page_checkpoint();
  EXPECT_TRUE(rewritten_page.at("chain").at("ok").as_bool()) << "the recomputed chain fools the chain check";
  EXPECT_EQ(rewritten_page.at("checkpoint").at("status").as_string(), "tampered") << json::serialize(rewritten_page);
  psql.superuser_psql("UPDATE audit_log SET outcome = '" + outcome + "' WHERE id = " + victim);
  rewrite_chain();
  EXPECT_EQ(verify(true).first, 0) << "the original content gives the signed hashes again";
  EXPECT_EQ(page_checkpoint().at("checkpoint").at("status").as_string(), "ok");

  // The newest rows deleted: the chain that is left is intact, the checkpoint's row is gone.
  psql.superuser_psql("CREATE TABLE audit_cut AS SELECT * FROM audit_log WHERE id >= " + victim +
                      "; DELETE FROM audit_log WHERE id >= " + victim);
  EXPECT_EQ(verify(false).first, 0);
  auto [cut_code, cut_out] = verify(true);
  EXPECT_EQ(cut_code, 3) << cut_out;
  EXPECT_NE(cut_out.find("that row is gone"), std::string::npos) << cut_out;
  psql.superuser_psql("ALTER TABLE audit_log DISABLE TRIGGER audit_chain_trg; INSERT INTO audit_log SELECT * FROM "
                      "audit_cut; ALTER TABLE audit_log ENABLE TRIGGER audit_chain_trg; DROP TABLE audit_cut");
  EXPECT_EQ(verify(true).first, 0);

  // A checkpoint whose signature was altered.
  const auto forged = one_line(
      psql.superuser_psql("SELECT id FROM audit_checkpoints WHERE audit_id >= " + victim + " ORDER BY id LIMIT 1"));
  const auto signature = one_line(psql.superuser_psql("SELECT signature FROM audit_checkpoints WHERE id = " + forged));
  psql.superuser_psql("UPDATE audit_checkpoints SET signature = repeat('0', 128) WHERE id = " + forged);
  auto [forged_code, forged_out] = verify(true);
  EXPECT_EQ(forged_code, 3) << forged_out;
  EXPECT_NE(forged_out.find("does not verify"), std::string::npos) << forged_out;
  psql.superuser_psql("UPDATE audit_checkpoints SET signature = '" + signature + "' WHERE id = " + forged);
  EXPECT_EQ(verify(true).first, 0);

  // The app role can neither touch the table nor store a checkpoint that does not match the log.
  EXPECT_NE(run_as(pg_role::app, "DELETE FROM audit_checkpoints"), errc::ok);
  EXPECT_NE(run_as(pg_role::app, "SELECT count(*) FROM audit_checkpoints"), errc::ok);
  EXPECT_NE(run_as(pg_role::app, "SELECT add_audit_checkpoint(" + victim + ", repeat('0', 64), 'now', "
                                  "'0123456789abcdef', repeat('0', 128))"),
            errc::ok);
  EXPECT_EQ(run_as(pg_role::app, "SELECT * FROM audit_head()"), errc::ok);
  std::filesystem::remove_all(dir);
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
