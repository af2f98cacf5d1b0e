#include "support/server_process.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "support/process_util.hpp"

namespace redoubt::test {

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_private_file(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail_errno("open " + path);
  if (::fchmod(fd, 0600) != 0) {
    ::close(fd);
    fail_errno("fchmod " + path);
  }
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail_errno("write " + path);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail_errno("close " + path);
}

// TOML basic string, quoted.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

struct db_config {
  std::string conninfo;
  std::string password;
};

db_config db_for(pg_role role) {
  auto s = pg_cluster::shared().settings(role);
  return {s.conninfo, s.password.reveal()};
}

// Writes <dir>/db.pass and <dir>/config.toml; returns the config path.
std::string write_config(const std::string& dir, unsigned short port, int threads,
                         const std::vector<std::string>& extra_origins, const db_config& db,
                         const std::string& extra_toml, const std::string& web_root = {},
                         const std::string& auth_toml = {}, const std::string& server_toml = {}) {
  const std::string origin = "https://localhost:" + std::to_string(port);
  std::vector<std::string> origins{origin};
  for (const auto& o : extra_origins) {
    if (std::find(origins.begin(), origins.end(), o) == origins.end()) origins.push_back(o);
  }
  std::string origin_list;
  for (const auto& o : origins) {
    if (!origin_list.empty()) origin_list += ", ";
    origin_list += toml_string(o);
  }
  const std::string pass_path = dir + "/db.pass";
  write_private_file(pass_path, db.password);

  std::string toml;
  toml += "[server]\n";
  toml += "listen_address = \"127.0.0.1\"\n";
  toml += "listen_port = " + std::to_string(port) + "\n";
  toml += "threads = " + std::to_string(threads) + "\n";
  toml += "public_origin = " + toml_string(origin) + "\n";
  toml += "allowed_origins = [" + origin_list + "]\n";
  toml += "log_level = \"debug\"\n";
  if (!web_root.empty()) toml += "web_root = " + toml_string(web_root) + "\n";
  toml += server_toml;
  toml += "[tls]\n";
  toml += "cert_file = " + toml_string(dir + "/tls/server.crt") + "\n";
  toml += "key_file = " + toml_string(dir + "/tls/server.key") + "\n";
  toml += "[database]\n";
  toml += "conninfo = " + toml_string(db.conninfo) + "\n";
  toml += "password_file = " + toml_string(pass_path) + "\n";
  toml += "pool_size = 4\n";
  toml += "[auth]\n";
  toml += "argon2_opslimit = 1\n";
  toml += "argon2_memlimit_kib = 8192\n";
  toml += "common_passwords_file = " +
          toml_string(std::string(REDOUBT_SOURCE_DIR) + "/data/common-passwords.txt") + "\n";
  // Tests sign up many users from 127.0.0.1; the tests of this limit set it in auth_toml.
  if (auth_toml.find("signups_per_hour_per_ip") == std::string::npos) toml += "signups_per_hour_per_ip = 1000000\n";
  toml += auth_toml;
  if (!toml.empty() && toml.back() != '\n') toml += '\n';
  if (!extra_toml.empty()) {
    toml += extra_toml;
    if (toml.back() != '\n') toml += '\n';
  }
  const std::string config_path = dir + "/config.toml";
  write_private_file(config_path, toml);
  return config_path;
}

// One config dir per role for redoubtctl, created on first use, removed at exit.
class ctl_configs {
 public:
  std::string config_for(pg_role role) {
    std::lock_guard lock(mutex_);
    auto it = dirs_.find(role);
    if (it != dirs_.end()) return it->second->file("config.toml");
    auto dir = std::make_unique<temp_dir>("redoubt-ctl-");
    generate_dev_tls(dir->file("tls"));
    write_config(dir->path(), pick_free_port(), 1, {}, db_for(role), {});
    return dirs_.emplace(role, std::move(dir)).first->second->file("config.toml");
  }

 private:
  std::mutex mutex_;
  std::map<pg_role, std::unique_ptr<temp_dir>> dirs_;
};

ctl_configs& ctl_config_dirs() {
  static ctl_configs configs;
  return configs;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

unsigned short pick_free_port() {
  return free_local_port();
}

std::pair<int, std::string> run_program(const std::vector<std::string>& argv,
                                        std::chrono::milliseconds timeout) {
  command_options opts;
  opts.timeout = timeout;
  auto r = run_command(argv, opts);
  return {r.status, std::move(r.output)};
}

void ensure_migrated() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto [code, output] = run_ctl({"migrate"}, pg_role::owner);
    if (code != 0) {
      throw std::runtime_error("redoubtctl migrate failed (exit " + std::to_string(code) + "):\n" +
                               output);
    }
  });
}

std::string ctl_config(pg_role role) {
  return ctl_config_dirs().config_for(role);
}

http_response get_metrics(https_client& client, const std::string& token) {
  return client.get("/metrics", {{"Authorization", "Bearer " + token}});
}

std::pair<int, std::string> run_ctl(const std::vector<std::string>& args, pg_role role) {
  std::vector<std::string> argv{REDOUBTCTL_BIN, "--config", ctl_config(role)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

void write_secret_file(const std::string& path, std::string_view content) {
  write_private_file(path, content);
}

std::string quote_toml(std::string_view s) {
  return toml_string(s);
}

db_settings_text database_for(pg_role role) {
  auto d = db_for(role);
  return {d.conninfo, d.password};
}

// ---------------------------------------------------------------------------------------------
// server_process

server_process::server_process(server_options opts)
    : opts_(std::move(opts)), dir_("redoubt-srv-"), process_("redoubt-server") {
  if (opts_.port == 0) opts_.port = pick_free_port();
  generate_dev_tls(dir_.file("tls"));
  ca_file_ = dir_.file("tls/ca.crt");
  log_path_ = dir_.file("server.log");
  auto db = db_for(pg_role::app);
  if (opts_.conninfo_rewrite) db.conninfo = opts_.conninfo_rewrite(db.conninfo);
  std::string server_toml;
  if (opts_.metrics_token) {
    metrics_token_ = "metrics-" + std::to_string(::getpid()) + "-" + std::to_string(opts_.port) +
                     "-0123456789abcdef0123456789abcdef";
    write_private_file(dir_.file("metrics.token"), metrics_token_ + "\n");
    server_toml = "metrics_token_file = " + toml_string(dir_.file("metrics.token")) + "\n";
  }
  config_path_ = write_config(dir_.path(), opts_.port, opts_.threads, opts_.allowed_origins, db,
                              opts_.extra_toml, opts_.web_root, opts_.auth_toml, server_toml);
}

server_process::~server_process() = default;

void server_process::start() {
  process_.start({REDOUBT_SERVER_BIN, "--config", config_path_}, log_path_);
  https_client probe("localhost", opts_.port, ca_file_);
  probe.set_timeout(std::chrono::seconds(2));
  process_.wait_ready(
      [&probe](std::string& why_not) {
        try {
          auto res = probe.get("/healthz");
          if (res.status == 200) return true;
          why_not = "GET /healthz answered " + std::to_string(res.status) + ": " + res.body;
        } catch (const std::exception& e) {
          why_not = e.what();
        }
        return false;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(100));
}

void server_process::kill9() {
  process_.kill9();
}

void server_process::stop() {
  process_.stop(std::chrono::seconds(10));
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
  return process_.wait_exit(timeout);
}

bool server_process::running() const {
  return process_.running();
}

pid_t server_process::pid() const {
  return process_.pid();
}

std::optional<int> server_process::exit_status() const {
  return process_.exit_status();
}

unsigned short server_process::port() const {
  return opts_.port;
}

const std::string& server_process::ca_file() const {
  return ca_file_;
}

const std::string& server_process::dir() const {
  return dir_.path();
}

const std::string& server_process::config_path() const {
  return config_path_;
}

std::string server_process::origin() const {
  return "https://localhost:" + std::to_string(opts_.port);
}

std::string server_process::log() const {
  return process_.log();
}

https_client server_process::client() const {
  return https_client("localhost", opts_.port, ca_file_);
}

const std::string& server_process::metrics_token() const {
  return metrics_token_;
}

header_list server_process::metrics_auth() const {
  return {{"Authorization", "Bearer " + metrics_token_}};
}

std::string server_process::metrics() const {
  auto c = client();
  auto res = get_metrics(c, metrics_token_);
  if (res.status != 200)
    throw std::runtime_error("GET /metrics answered " + std::to_string(res.status) + ": " + res.body);
  return std::move(res.body);
}

ws_client server_process::ws(const std::string& cookie_header,
                             std::optional<std::string> origin) const {
  return ws_client("localhost", opts_.port, ca_file_, cookie_header, std::move(origin));
}

}  // namespace redoubt::test
