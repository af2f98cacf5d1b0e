// CHAT-06: `redoubtctl backup` then `redoubtctl restore` into a fresh database gives the same
// data, and the restored audit chain still verifies.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

// A config for redoubtctl with the owner role pointed at another database of the cluster.
std::string owner_config_for(const std::string& dir, const std::string& dbname) {
  auto s = pg_cluster::shared().settings(pg_role::owner);
  auto conninfo = s.conninfo;
  auto pos = conninfo.find("dbname=redoubt");
  conninfo.replace(pos, std::string("dbname=redoubt").size(), "dbname=" + dbname);
  auto pass_path = dir + "/" + dbname + ".pass";
  std::ofstream(pass_path) << s.password.reveal();
  ::chmod(pass_path.c_str(), 0600);
  auto cfg_path = dir + "/" + dbname + ".toml";
  std::ofstream(cfg_path) << "[database]\nconninfo = \"" << conninfo << "\"\npassword_file = \"" << pass_path
                          << "\"\n[auth]\ncommon_passwords_file = \"" << REDOUBT_SOURCE_DIR
                          << "/data/common-passwords.txt\"\n";
  ::chmod(cfg_path.c_str(), 0600);
  return cfg_path;
}

std::string fingerprint(const std::string& dbname) {
  return pg_cluster::shared().superuser_psql(
      "SELECT (SELECT md5(string_agg(concat_ws('|', id, username, email, password_hash, is_admin), ',' ORDER BY id)) FROM users) || "
      "(SELECT md5(string_agg(concat_ws('|', id, kind, name, topic, last_seq), ',' ORDER BY id)) FROM rooms) || "
      "(SELECT md5(string_agg(concat_ws('|', id, room_id, seq, author_id, client_id, body, deleted_at), ',' ORDER BY id)) FROM messages) || "
      "(SELECT md5(string_agg(concat_ws('|', id, hash), ',' ORDER BY id)) FROM audit_log) || "
      "(SELECT count(*)::text FROM room_members)",
      dbname);
}

TEST(Backup, BackupThenRestoreIntoFreshDatabaseIsIdentical) {
  ensure_migrated();
  auto& server = shared_server();
  auto alice = make_user(server, "bk");
  auto room = make_room(alice, "private");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(alice.http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                              json::object{{"client_id", "b" + std::to_string(i)}, {"body", "keep me " + std::to_string(i)}})
                  .status,
              201);
  char tmpl[] = "/tmp/redoubt-backup-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto dump = dir + "/redoubt.dump";
  auto [code, out] = run_ctl({"backup", dump});
  ASSERT_EQ(code, 0) << out;
  struct stat st {};
  ASSERT_EQ(::stat(dump.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "backups are private";

  pg_cluster::shared().superuser_psql("CREATE DATABASE redoubt_restore OWNER redoubt_owner", "postgres");
  pg_cluster::shared().superuser_psql("GRANT CONNECT ON DATABASE redoubt_restore TO redoubt_app, redoubt_worker", "postgres");
  auto cfg = owner_config_for(dir, "redoubt_restore");
  auto restored = run_program({REDOUBTCTL_BIN, "--config", cfg, "restore", dump});
  ASSERT_EQ(restored.first, 0) << restored.second;
  auto original = fingerprint("redoubt");
  ASSERT_GT(original.size(), 4 * 32u) << "fingerprint must cover non-empty tables: " << original;
  EXPECT_EQ(fingerprint("redoubt_restore"), original);
  auto verify = run_program({REDOUBTCTL_BIN, "--config", cfg, "audit", "verify"});
  EXPECT_EQ(verify.first, 0) << verify.second;
  // The app role keeps exactly its grants in the restored database.
  EXPECT_NE(pg_cluster::shared().superuser_psql(
                "SELECT has_table_privilege('redoubt_app', 'audit_log', 'INSERT')::text || "
                "has_table_privilege('redoubt_app', 'audit_log', 'SELECT')::text",
                "redoubt_restore")
                .find("truefalse"),
            std::string::npos);
  // A second restore into the now non-empty database is refused and changes nothing.
  auto again = run_program({REDOUBTCTL_BIN, "--config", cfg, "restore", dump});
  EXPECT_NE(again.first, 0);
  EXPECT_NE(again.second.find("not empty"), std::string::npos) << again.second;
  pg_cluster::shared().superuser_psql("DROP DATABASE redoubt_restore", "postgres");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace redoubt::test
