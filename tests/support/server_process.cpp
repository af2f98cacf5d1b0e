#include "support/process_util.hpp"
#include "support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace redoubt::test {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool keep_dirs() {
  const char* v = std::getenv("REDOUBT_KEEP_TEST_DIRS");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
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

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, std::size_t n = 6000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
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

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

struct exec_args {
  explicit exec_args(const std::vector<std::string>& argv) : strings(argv) {
    for (auto& s : strings) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
};

// fork + execv (no shell). stdin is /dev/null, stdout and stderr go to out_fd. The child dies
// with the parent thread (PR_SET_PDEATHSIG) so a crashed test leaves no server behind.
pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  exec_args args(argv);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) fail_errno("open /dev/null");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(null_fd);
    fail_errno("fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(127);
    ::close_range(3, ~0U, 0);
    ::execv(args.ptrs[0], args.ptrs.data());
    const char msg[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(null_fd);
  return pid;
}

struct db_config {
  std::string conninfo;
  std::string password;
};

db_config db_for(pg_role role) {
  auto s = pg_cluster::shared().settings(role);
  return {s.conninfo, s.password.reveal()};
}

void generate_tls(const std::string& dir) {
  auto [code, out] =
      run_program({"/bin/bash", std::string(REDOUBT_SOURCE_DIR) + "/scripts/dev-tls.sh", dir});
  if (code != 0) throw std::runtime_error("scripts/dev-tls.sh failed: " + out);
}

// Writes <dir>/db.pass and <dir>/config.toml; returns the config path.
std::string write_config(const std::string& dir, unsigned short port, int threads,
                         const std::vector<std::string>& extra_origins, const db_config& db,
                         const std::string& extra_toml, const std::string& web_root = {}) {
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
  if (!extra_toml.empty()) {
    toml += extra_toml;
    if (toml.back() != '\n') toml += '\n';
  }
  const std::string config_path = dir + "/config.toml";
  write_private_file(config_path, toml);
  return config_path;
}

void remove_dir(const std::string& dir) {
  if (dir.empty() || keep_dirs()) return;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// One config dir per role for redoubtctl, created on first use, removed at exit.
class ctl_configs {
 public:
  ~ctl_configs() {
    for (const auto& [role, dir] : dirs_) remove_dir(dir);
  }
  std::string config_for(pg_role role) {
    std::lock_guard lock(mutex_);
    auto it = dirs_.find(role);
    if (it != dirs_.end()) return it->second + "/config.toml";
    std::string dir = make_temp_dir("redoubt-ctl-");
    try {
      generate_tls(dir + "/tls");
      write_config(dir, pick_free_port(), 1, {}, db_for(role), {});
    } catch (...) {
      remove_dir(dir);
      throw;
    }
    dirs_.emplace(role, dir);
    return dir + "/config.toml";
  }

 private:
  std::mutex mutex_;
  std::map<pg_role, std::string> dirs_;
};

ctl_configs& ctl_config_dirs() {
  static ctl_configs configs;
  return configs;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

unsigned short pick_free_port() { return free_local_port(); }

std::pair<int, std::string> run_program(const std::vector<std::string>& argv,
                                        std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("run_program: empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe");
  pid_t pid;
  try {
    pid = spawn(argv, fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);

  std::string output;
  auto deadline = clock_type::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) continue;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) output += "\n[run_program: killed after timeout]\n";
  return {decode_status(status), output};
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

std::pair<int, std::string> run_ctl(const std::vector<std::string>& args, pg_role role) {
  std::vector<std::string> argv{REDOUBTCTL_BIN, "--config", ctl_config_dirs().config_for(role)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) fail_errno("open " + log_path);
  pid_t pid;
  try {
    pid = spawn(argv, log_fd);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
  return pid;
}

int decode_exit_status(int status) { return decode_status(status); }

void write_secret_file(const std::string& path, std::string_view content) { write_private_file(path, content); }

std::string quote_toml(std::string_view s) { return toml_string(s); }

db_settings_text database_for(pg_role role) {
  auto d = db_for(role);
  return {d.conninfo, d.password};
}

// ---------------------------------------------------------------------------------------------
// server_process

server_process::server_process(server_options opts) : opts_(std::move(opts)) {
  if (opts_.port == 0) opts_.port = pick_free_port();
  dir_ = make_temp_dir("redoubt-srv-");
  try {
    generate_tls(dir_ + "/tls");
    ca_file_ = dir_ + "/tls/ca.crt";
    log_path_ = dir_ + "/server.log";
    auto db = db_for(pg_role::app);
    if (opts_.conninfo_rewrite) db.conninfo = opts_.conninfo_rewrite(db.conninfo);
    config_path_ = write_config(dir_, opts_.port, opts_.threads, opts_.allowed_origins, db, opts_.extra_toml,
                                opts_.web_root);
  } catch (...) {
    remove_dir(dir_);
    throw;
  }
}

server_process::~server_process() {
  try {
    stop();
  } catch (...) {
  }
  remove_dir(dir_);
}

void server_process::start() {
  if (running()) throw std::logic_error("server_process::start: already running");
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) fail_errno("open " + log_path_);
  try {
    pid_ = spawn({REDOUBT_SERVER_BIN, "--config", config_path_}, log_fd);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
  exit_status_.reset();

  https_client probe("localhost", opts_.port, ca_file_);
  probe.set_timeout(std::chrono::seconds(2));
  auto deadline = clock_type::now() + std::chrono::seconds(20);
  std::string last_error;
  for (;;) {
    reap(false);
    if (pid_ < 0) {
      throw std::runtime_error("redoubt-server exited during startup (status " +
                               std::to_string(exit_status_.value_or(-1000)) + "); log:\n" +
                               tail(log()));
    }
    try {
      auto res = probe.get("/healthz");
      if (res.status == 200) return;
      last_error = "GET /healthz answered " + std::to_string(res.status) + ": " + res.body;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (clock_type::now() >= deadline) {
      kill9();
      throw std::runtime_error("redoubt-server not healthy after 20 s (last: " + last_error +
                               "); log:\n" + tail(log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void server_process::reap(bool block) const {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_status_ = decode_status(status);
    pid_ = -1;
  } else if (r < 0) {
    pid_ = -1;  // not our child any more (ECHILD)
  }
}

void server_process::kill9() {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void server_process::stop() {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(std::chrono::seconds(10))) kill9();
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    reap(false);
    if (pid_ <= 0) return exit_status_;
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool server_process::running() const {
  reap(false);
  return pid_ > 0;
}

pid_t server_process::pid() const {
  return pid_;
}

std::optional<int> server_process::exit_status() const {
  return exit_status_;
}

unsigned short server_process::port() const {
  return opts_.port;
}

const std::string& server_process::ca_file() const {
  return ca_file_;
}

const std::string& server_process::dir() const {
  return dir_;
}

const std::string& server_process::config_path() const {
  return config_path_;
}

std::string server_process::origin() const {
  return "https://localhost:" + std::to_string(opts_.port);
}

std::string server_process::log() const {
  return read_file(log_path_);
}

https_client server_process::client() const {
  return https_client("localhost", opts_.port, ca_file_);
}

ws_client server_process::ws(const std::string& cookie_header,
                             std::optional<std::string> origin) const {
  return ws_client("localhost", opts_.port, ca_file_, cookie_header, std::move(origin));
}

}  // namespace redoubt::test
