#include "support/worker_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/process_util.hpp"
#include "support/server_process.hpp"

namespace redoubt::test {
namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

worker_process::worker_process(worker_options opts) : opts_(std::move(opts)) {
  dir_ = make_temp_dir("redoubt-wrk-");
  log_path_ = dir_ + "/worker.log";
  config_path_ = dir_ + "/worker.toml";
  auto db = database_for(pg_role::worker);
  write_secret_file(dir_ + "/db.pass", db.password);
  write_secret_file(dir_ + "/nats.pass", opts_.nats_password);
  std::string keys;
  for (const auto& k : opts_.verify_key_files) keys += (keys.empty() ? "" : ", ") + quote_toml(k);
  std::string toml;
  toml += "[database]\nconninfo = " + quote_toml(db.conninfo + opts_.conninfo_extra) + "\npassword_file = " + quote_toml(dir_ + "/db.pass") +
          "\npool_size = 4\n";
  toml += "[nats]\nurl = " + quote_toml(opts_.nats_url) + "\nuser = \"redoubt_worker\"\npassword_file = " +
          quote_toml(dir_ + "/nats.pass") + "\nca_file = " + quote_toml(opts_.nats_ca_file) + "\n";
  toml += "[jobs]\nverify_key_files = [" + keys + "]\n";
  toml += "[worker]\npublic_origin = \"https://localhost:8443\"\nlog_level = " + quote_toml(opts_.log_level) +
          "\nfetch_wait_ms = 200\n"
          "metrics_file = " + quote_toml(dir_ + "/metrics.prom") + "\n" + opts_.extra_worker_toml;
  toml += opts_.email_toml;
  write_secret_file(config_path_, toml);
}

worker_process::~worker_process() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  if (!std::getenv("REDOUBT_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
}

void worker_process::start() {
  if (running()) throw std::logic_error("worker already running");
  auto before = log().size();
  // The metrics file is written once the worker is connected and running (any log level).
  std::error_code ec;
  std::filesystem::remove(dir_ + "/metrics.prom", ec);
  pid_ = spawn_logged({REDOUBT_WORKER_BIN, "--config", config_path_}, log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto text = log();
    if (std::filesystem::exists(dir_ + "/metrics.prom")) return;
    reap(false);
    if (pid_ <= 0) throw std::runtime_error("redoubt-worker exited during startup; log:\n" + text.substr(before));
    if (std::chrono::steady_clock::now() > deadline) {
      kill9();
      throw std::runtime_error("redoubt-worker did not start in 20 s; log:\n" + text.substr(before));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void worker_process::reap(bool block) const {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) last_status_ = status;
  if (r == pid_ || r < 0) pid_ = -1;
}

std::string worker_process::state() const {
  reap(false);
  if (pid_ > 0) return "running";
  if (last_status_ < 0) return "not started";
  if (WIFSIGNALED(last_status_)) return "killed by signal " + std::to_string(WTERMSIG(last_status_));
  return "exited with status " + std::to_string(WEXITSTATUS(last_status_));
}

void worker_process::kill9() {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void worker_process::stop() {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    reap(false);
    if (pid_ <= 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
}

bool worker_process::running() const {
  reap(false);
  return pid_ > 0;
}

std::string worker_process::log() const { return read_all(log_path_); }

long long worker_process::metric(const std::string& name) const {
  std::istringstream in(read_all(dir_ + "/metrics.prom"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;  // HELP and TYPE lines
    std::istringstream fields(line);
    std::string n;
    long long v;
    if (fields >> n >> v && n == name) return v;
  }
  return -1;
}

}  // namespace redoubt::test
