// CHAT-06: `redoubtctl backup` then `redoubtctl restore` into a fresh database gives the same
// data, and the restored audit chain still verifies.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

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

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The backup never lands in a file someone else prepared: an existing file or a symlink at the
// path (dangling or not) is refused and left as it was.
TEST(Backup, AnExistingFileOrASymlinkAtThePathIsRefused) {
  ensure_migrated();
  temp_dir dir("redoubt-backup-");
  const auto existing = dir.file("existing.dump");
  write_secret_file(existing, "keep me");
  auto over_file = run_ctl({"backup", existing});
  EXPECT_NE(over_file.first, 0) << over_file.second;
  EXPECT_NE(over_file.second.find("refusing"), std::string::npos) << over_file.second;
  EXPECT_EQ(read_all(existing), "keep me");

  const auto target = dir.file("elsewhere.dump");
  const auto dangling = dir.file("dangling.dump");
  ASSERT_EQ(::symlink(target.c_str(), dangling.c_str()), 0);
  auto through_dangling = run_ctl({"backup", dangling});
  EXPECT_NE(through_dangling.first, 0) << through_dangling.second;
  EXPECT_FALSE(std::filesystem::exists(target)) << "the symlink was followed";

  const auto link = dir.file("link.dump");
  ASSERT_EQ(::symlink(existing.c_str(), link.c_str()), 0);
  auto through_link = run_ctl({"backup", link});
  EXPECT_NE(through_link.first, 0) << through_link.second;
  EXPECT_EQ(read_all(existing), "keep me");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
}

// The file is 0600 from its creation, before pg_dump writes to it, whatever the caller's umask:
// pg_dump is held on a table lock while the test looks at the file.
TEST(Backup, TheFileIsPrivateFromCreationWhateverTheUmask) {
  ensure_migrated();
  temp_dir dir("redoubt-backup-");
  const auto dump = dir.file("held.dump");
  std::string holder_error;
  std::thread holder([&holder_error] {
    try {
      pg_cluster::shared().superuser_psql(
          "BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;");
    } catch (const std::exception& e) {
      holder_error = e.what();
    }
  });
  const auto held = [] {
    return pg_cluster::shared().superuser_psql(
               "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
               "WHERE c.relname = 'schema_migrations' AND l.mode = 'AccessExclusiveLock' AND l.granted")
               .find('1') != std::string::npos;
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!held() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  child_process backup("redoubtctl-backup");
  const mode_t old_mask = ::umask(0);  // the child inherits a umask that hides nothing
  backup.start({REDOUBTCTL_BIN, "--config", ctl_config(), "backup", dump}, dir.file("backup.log"));
  ::umask(old_mask);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  struct stat st {};
  while (::lstat(dump.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool dumping = backup.running();
  ASSERT_EQ(::lstat(dump.c_str(), &st), 0) << backup.log();
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "while pg_dump runs";
  EXPECT_TRUE(dumping) << "pg_dump should still be waiting for the lock: " << backup.log();
  holder.join();
  EXPECT_EQ(holder_error, "");
  auto status = backup.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << backup.log();
  ASSERT_EQ(::stat(dump.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_GT(st.st_size, 1000) << "a real dump";
}

}  // namespace
}  // namespace redoubt::test
