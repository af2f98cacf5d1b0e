// redoubtctl: operator commands. Connects with the role in its config file (the owner role
// for migrate and create-admin). Passwords are read from stdin, never from arguments.
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "app/config_file.hpp"
#include "ctl_support.hpp"
#include "files_commands.hpp"
#include "kit/config_reader.hpp"
#include "auth/accounts.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "storage/audit_checkpoints.hpp"
#include "storage/audit_verify.hpp"
#include "storage/migrations.hpp"
#include "queue/jobs_admin.hpp"
#include "storage/account_repository.hpp"
#include "storage/audit_repository.hpp"

namespace asio = boost::asio;
using namespace redoubt;
using redoubt::ctl::connect_or_report;
using redoubt::ctl::report;
using redoubt::ctl::run_blocking;

namespace {

int cmd_migrate(const settings& cfg) {
  asio::io_context io;
  auto conn = connect_or_report(io, cfg);
  if (!conn) return 1;
  auto v = run_blocking(io, storage::migrate(*conn));
  if (!v) return report(v.error(), 1);
  std::cout << "schema at version " << *v << "\n";
  return 0;
}

int cmd_audit_verify(const settings& cfg, const std::vector<std::string>& key_files) {
  // Checkpoints are trusted when signed by the configured server key or a --key file
  // (public keys of earlier server keys, after a rotation).
  auto trusted = kit::read_public_key_files(key_files);
  if (!trusted) return report(trusted.error(), 2);
  if (!cfg.jobs.signing_public_key.empty())
    trusted->emplace(crypto::signing_key_id(cfg.jobs.signing_public_key), cfg.jobs.signing_public_key);
  asio::io_context io;
  auto conn = connect_or_report(io, cfg);
  if (!conn) return 1;
  auto chain = run_blocking(io, storage::verify_audit_chain(*conn));
  if (!chain) return report(chain.error(), 1);
  auto checkpoints = run_blocking(io, storage::verify_audit_checkpoints(*conn, *trusted));
  if (!checkpoints) return report(checkpoints.error(), 1);
  bool tampered = false;
  if (chain->first_bad_id) {
    std::cout << "audit log TAMPERED: " << chain->bad_rows << " of " << chain->rows
              << " rows do not verify; first bad row id " << *chain->first_bad_id << "\n";
    tampered = true;
  } else {
    std::cout << "audit log OK: " << chain->rows << " rows, hash chain intact\n";
  }
  for (const auto& problem : checkpoints->problems) std::cout << "audit log TAMPERED: " << problem << "\n";
  tampered = tampered || !checkpoints->problems.empty();
  if (checkpoints->newest_verified_id) {
    std::cout << "checkpoints OK: " << checkpoints->verified << " signed checkpoints match the log; newest covers row "
              << *checkpoints->newest_verified_id << " (signed " << checkpoints->newest_verified_at << "), "
              << checkpoints->rows_after_newest << " rows after it\n";
  } else if (checkpoints->checkpoints == 0) {
    std::cout << "checkpoints: none yet\n";
  }
  if (checkpoints->unchecked > 0)
    std::cout << "checkpoints: " << checkpoints->unchecked
              << " signed by keys not given (set jobs.signing_key_file or pass --key with the server's public key)\n";
  return tampered ? 3 : 0;
}

extern "C" char** environ;

// Creates `path` for writing, private from the first byte: mode 0600 under umask 077, never an
// existing file and never through a symlink (O_EXCL, O_NOFOLLOW). -1 with a message otherwise.
int create_private_file(const std::string& path) {
  const mode_t old_mask = ::umask(077);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  const int open_errno = errno;
  ::umask(old_mask);
  if (fd < 0) {
    std::cerr << "redoubtctl: cannot create " << path << ": " << std::strerror(open_errno)
              << (open_errno == EEXIST ? " (refusing to overwrite an existing file or follow a symlink)" : "") << "\n";
    return -1;
  }
  if (::fchmod(fd, 0600) != 0) {  // a default ACL of the directory may have widened it
    std::cerr << "redoubtctl: cannot chmod " << path << ": " << std::strerror(errno) << "\n";
    ::close(fd);
    ::unlink(path.c_str());
    return -1;
  }
  return fd;
}

// Runs a PostgreSQL client tool with the database password in its environment (PGPASSWORD),
// never on its command line. Returns the exit status; its stdout goes to `out_fd` if given.
int run_pg_tool(const std::vector<std::string>& argv, const secret_string& password, int out_fd = -1) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("PGPASSWORD=", 0) != 0) env_strings.emplace_back(entry);
  }
  if (!password.empty()) env_strings.push_back("PGPASSWORD=" + password.reveal());
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  for (auto& e : env_strings) std::fill(e.begin(), e.end(), '\0');
  if (rc != 0) {
    std::cerr << "redoubtctl: cannot run " << argv[0] << "\n";
    return 127;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The conninfo for PostgreSQL's own tools: TLS 1.3 as everywhere else; no password in it.
std::string tool_conninfo(const settings& cfg) {
  std::string c = cfg.database.conninfo;
  if (c.find("ssl_min_protocol_version") == std::string::npos) c += " ssl_min_protocol_version=TLSv1.3";
  return c;
}

// Backups are pg_dump's custom format of the whole database (schema, data, grants), made
// with the owner role. Restore goes into an empty database only. The file is created here,
// 0600, before pg_dump writes a byte to it (pg_dump gets it as its stdout); an existing file
// or a symlink at that path is refused.
int cmd_backup(const settings& cfg, const std::string& output) {
  const int fd = create_private_file(output);
  if (fd < 0) return 2;
  int rc = run_pg_tool({"/usr/bin/pg_dump", "--format=custom", "--no-owner", "--dbname=" + tool_conninfo(cfg)},
                       cfg.database.password, fd);
  const bool written = ::fsync(fd) == 0;
  ::close(fd);
  if (rc != 0 || !written) {
    std::cerr << "redoubtctl: pg_dump failed (exit " << rc << (written ? "" : ", fsync failed") << ")\n";
    ::unlink(output.c_str());
    return 1;
  }
  std::cout << "backup written to " << output << "\n";
  return 0;
}

int cmd_restore(const settings& cfg, const std::string& input) {
  asio::io_context io;
  auto conn = connect_or_report(io, cfg);
  if (!conn) return 1;
  auto empty = run_blocking(io, conn->query("SELECT to_regclass('public.schema_migrations') IS NULL"));
  if (!empty) return report(empty.error(), 1);
  if (!empty->boolean(0, 0)) {
    std::cerr << "redoubtctl: the target database is not empty; restore only into a new database\n";
    return 2;
  }
  // Extensions are the database superuser's business (the owner role cannot create them):
  // leave them out of the restore list.
  char list_template[] = "/tmp/redoubt-restore-XXXXXX";
  int fd = mkstemp(list_template);
  if (fd < 0) {
    std::cerr << "redoubtctl: cannot create a temporary file\n";
    return 1;
  }
  ::close(fd);
  std::string full_list = std::string(list_template) + ".all";
  const int list_fd = create_private_file(full_list);
  if (list_fd < 0) {
    ::unlink(list_template);
    return 1;
  }
  const int listed = run_pg_tool({"/usr/bin/pg_restore", "--list", input}, {}, list_fd);
  ::close(list_fd);
  if (listed != 0) {
    std::cerr << "redoubtctl: cannot read backup " << input << "\n";
    ::unlink(list_template);
    ::unlink(full_list.c_str());
    return 1;
  }
  {
    std::ifstream in(full_list);
    std::ofstream out(list_template, std::ios::trunc);
    std::string line;
    while (std::getline(in, line))
      if (line.find(" EXTENSION ") == std::string::npos) out << line << "\n";
  }
  ::unlink(full_list.c_str());
  int rc = run_pg_tool({"/usr/bin/pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                        std::string("--use-list=") + list_template, "--dbname=" + tool_conninfo(cfg), input},
                       cfg.database.password);
  ::unlink(list_template);
  if (rc != 0) {
    std::cerr << "redoubtctl: pg_restore failed (exit " << rc << "); nothing was restored\n";
    return 1;
  }
  std::cout << "restored " << input << "\n";
  return 0;
}

int cmd_create_admin(const settings& cfg, const std::string& username, const std::string& email) {
  std::string password;
  if (isatty(STDIN_FILENO)) std::cerr << "password: ";
  std::getline(std::cin, password);
  secret_string pw(std::move(password));
  auto policy = auth::password_policy::load(cfg.auth.min_password_length, cfg.auth.max_password_length,
                                            cfg.auth.common_passwords_file.empty()
                                                ? std::string("/usr/share/redoubt/common-passwords.txt")
                                                : cfg.auth.common_passwords_file);
  if (!policy) return report(policy.error(), 1);
  asio::io_context io;
  auto pool = db::pool::create(io.get_executor(), cfg.database);
  storage::account_repository account_rows(pool);
  storage::audit_repository audit_rows(pool);
  audit::recorder audit_log(audit_rows);
  auth::accounts accounts(account_rows, audit_log, cfg.auth, std::move(*policy));
  auto user = run_blocking(io, accounts.create_admin(username, email, pw));
  accounts.shutdown();
  if (!user) return report(user.error(), 1);
  std::cout << "admin '" << user->username << "' created (id " << user->id << ")\n";
  return 0;
}

// Writes an Ed25519 key pair for signing jobs: the secret key (hex, 0600, created exclusively so
// an existing key is never overwritten) for the server, the public key (hex) for the worker.
int cmd_keygen_signing(const std::string& secret_path, const std::string& public_path) {
  auto kp = crypto::generate_signing_keypair();
  int fd = ::open(secret_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "redoubtctl: cannot create '" << secret_path << "' (exists?)\n";
    return 1;
  }
  std::string hex = crypto::to_hex(kp.secret_key.reveal()) + "\n";
  bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::ofstream pub(public_path, std::ios::trunc);
  pub << crypto::to_hex(kp.public_key) << "\n";
  if (!ok || !pub.flush()) {
    std::cerr << "redoubtctl: cannot write the key files\n";
    return 1;
  }
  std::cout << "signing key written to " << secret_path << " (server), public key to " << public_path
            << " (worker)\n";
  return 0;
}

// Writes a new cluster key file (0600, never over an existing file): every server node of an
// installation gets a copy; the broker never does (see queue/bus_seal.hpp for rotation).
int cmd_keygen_cluster(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "redoubtctl: cannot create '" << path << "' (exists?)\n";
    return 1;
  }
  const std::string text = "# Redoubt cluster key: seals what server nodes send each other over the broker.\n" +
                           crypto::random_hex(32) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    std::cerr << "redoubtctl: cannot write '" << path << "'\n";
    return 1;
  }
  std::cout << "cluster key written to " << path << " (copy it to every server node)\n";
  return 0;
}

int cmd_nats_setup(const std::string& url, const std::string& ca_file, const std::string& password_file,
                   const std::string& hostname) {
  auto pw = kit::read_secret_file(password_file);
  if (!pw) return report(pw.error(), 2);
  queue::admin_connection c{url, "redoubt_admin", std::move(*pw), ca_file, hostname};
  auto ok = queue::setup_jobs_stream(c);
  if (!ok) return report(ok.error(), 1);
  if (ok->recreated)
    std::cout << "stream JOBS had another retention policy and was made again as a work queue; the "
                 "server publishes unfinished jobs from its outbox again\n";
  std::cout << "stream JOBS and consumer worker are ready\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"redoubtctl: operate a Redoubt installation"};
  std::string config_path = "/etc/redoubt/ctl.toml";
  app.add_option("--config", config_path, "TOML config (database section: the owner role)");
  app.require_subcommand(1);
  auto* migrate = app.add_subcommand("migrate", "apply database migrations");
  auto* admin = app.add_subcommand("create-admin", "create an administrator (password on stdin)");
  std::string username, email;
  admin->add_option("username", username)->required();
  admin->add_option("email", email)->required();
  auto* audit = app.add_subcommand("audit", "audit log commands");
  auto* audit_verify =
      audit->add_subcommand("verify", "check the audit log's hash chain and signed checkpoints (owner role; exit 3)");
  std::vector<std::string> audit_key_files;
  audit_verify->add_option("--key", audit_key_files, "public key file of a server signing key (repeatable)");
  audit->require_subcommand(1);
  std::string backup_file;
  auto* backup = app.add_subcommand("backup", "dump the database (owner role) to a file");
  backup->add_option("file", backup_file)->required();
  auto* restore = app.add_subcommand("restore", "restore a backup into an empty database (owner role)");
  restore->add_option("file", backup_file)->required();
  auto* version = app.add_subcommand("version", "print versions");
  std::string secret_out, public_out;
  auto* keygen = app.add_subcommand("keygen-signing", "create the Ed25519 key pair that signs jobs (no config)");
  keygen->add_option("secret_file", secret_out)->required();
  keygen->add_option("public_file", public_out)->required();
  std::string cluster_key_out;
  auto* keygen_cluster =
      app.add_subcommand("keygen-cluster", "create the key that seals traffic between server nodes (no config)");
  keygen_cluster->add_option("file", cluster_key_out)->required();
  std::string nats_url, nats_ca, nats_password_file, nats_hostname;
  auto* nats_setup = app.add_subcommand("nats-setup", "create stream JOBS and consumer worker (broker admin; no config)");
  nats_setup->add_option("--url", nats_url, "tls://host:port")->required();
  nats_setup->add_option("--ca-file", nats_ca, "CA of the broker's certificate")->required();
  nats_setup->add_option("--password-file", nats_password_file, "redoubt_admin's password (0600)")->required();
  nats_setup->add_option("--hostname", nats_hostname, "name in the broker's certificate (default: URL host)");
  auto* files_cmd = app.add_subcommand("files", "attachment store commands");
  files_cmd->require_subcommand(1);
  std::string key_file_out;
  auto* files_keygen = files_cmd->add_subcommand("keygen", "create a master key file (no config)");
  files_keygen->add_option("file", key_file_out)->required();
  auto* files_rotate = files_cmd->add_subcommand("rotate-key", "add a master key and re-wrap every data key with it");
  auto* files_verify = files_cmd->add_subcommand("verify", "report tampered, missing and orphaned files (exit 4)");
  CLI11_PARSE(app, argc, argv);

  crypto::init();
  log::init("redoubtctl", log::level::warn);
  if (version->parsed()) {
    std::cout << kit::version_line({"redoubtctl", "", "", storage::expected_schema_version()}) << "\n";
    return 0;
  }
  if (keygen->parsed()) return cmd_keygen_signing(secret_out, public_out);
  if (keygen_cluster->parsed()) return cmd_keygen_cluster(cluster_key_out);
  if (nats_setup->parsed()) return cmd_nats_setup(nats_url, nats_ca, nats_password_file, nats_hostname);
  if (files_keygen->parsed()) return ctl::files_keygen(key_file_out);
  auto cfg = app::load_settings(config_path);
  if (!cfg) return report(cfg.error(), 2);
  if (migrate->parsed()) return cmd_migrate(*cfg);
  if (admin->parsed()) return cmd_create_admin(*cfg, username, email);
  if (audit_verify->parsed()) return cmd_audit_verify(*cfg, audit_key_files);
  if (backup->parsed()) return cmd_backup(*cfg, backup_file);
  if (restore->parsed()) return cmd_restore(*cfg, backup_file);
  if (files_rotate->parsed()) return ctl::files_rotate_key(*cfg);
  if (files_verify->parsed()) return ctl::files_verify(*cfg);
  return 2;
}
