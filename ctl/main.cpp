// redoubtctl: operator commands. Connects with the role in its config file (the owner role
// for migrate and create-admin). Passwords are read from stdin, never from arguments.
#include <unistd.h>

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "app/config_file.hpp"
#include "auth/accounts.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "storage/audit_verify.hpp"
#include "storage/migrations.hpp"
#include "storage/repository.hpp"

namespace asio = boost::asio;
using namespace redoubt;

namespace {

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  auto f = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  io.run();
  return f.get();
}

int cmd_migrate(const settings& cfg) {
  asio::io_context io;
  auto conn = run(io, db::connection::connect(io.get_executor(), cfg.database));
  if (!conn) {
    std::cerr << "redoubtctl: cannot connect: " << conn.error().message << "\n";
    return 1;
  }
  auto v = run(io, storage::migrate(**conn));
  if (!v) {
    std::cerr << "redoubtctl: " << v.error().message << "\n";
    return 1;
  }
  std::cout << "schema at version " << *v << "\n";
  return 0;
}

int cmd_audit_verify(const settings& cfg) {
  asio::io_context io;
  auto conn = run(io, db::connection::connect(io.get_executor(), cfg.database));
  if (!conn) {
    std::cerr << "redoubtctl: cannot connect: " << conn.error().message << "\n";
    return 1;
  }
  auto report = run(io, storage::verify_audit_chain(**conn));
  if (!report) {
    std::cerr << "redoubtctl: " << report.error().message << "\n";
    return 1;
  }
  if (report->first_bad_id) {
    std::cout << "audit log TAMPERED: " << report->bad_rows << " of " << report->rows
              << " rows do not verify; first bad row id " << *report->first_bad_id << "\n";
    return 3;
  }
  std::cout << "audit log OK: " << report->rows << " rows, hash chain intact\n";
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
  if (!policy) {
    std::cerr << "redoubtctl: " << policy.error().message << "\n";
    return 1;
  }
  asio::io_context io;
  auto pool = db::pool::create(io.get_executor(), cfg.database);
  storage::repository repo(pool);
  auth::accounts accounts(repo, cfg.auth, std::move(*policy));
  auto user = run(io, accounts.create_admin(username, email, pw));
  accounts.shutdown();
  if (!user) {
    std::cerr << "redoubtctl: " << user.error().message << "\n";
    return 1;
  }
  std::cout << "admin '" << user->username << "' created (id " << user->id << ")\n";
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
  auto* audit_verify = audit->add_subcommand("verify", "check the audit log's hash chain (owner role)");
  audit->require_subcommand(1);
  auto* version = app.add_subcommand("version", "print versions");
  CLI11_PARSE(app, argc, argv);

  crypto::init();
  log::init("redoubtctl", log::level::warn);
  if (version->parsed()) {
    std::cout << "redoubtctl 0.1.0 (schema " << storage::expected_schema_version() << ")\n";
    return 0;
  }
  auto cfg = app::load_settings(config_path);
  if (!cfg) {
    std::cerr << "redoubtctl: " << cfg.error().message << "\n";
    return 2;
  }
  if (migrate->parsed()) return cmd_migrate(*cfg);
  if (admin->parsed()) return cmd_create_admin(*cfg, username, email);
  if (audit_verify->parsed()) return cmd_audit_verify(*cfg);
  return 2;
}
