#include "support/worker_process.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/server_process.hpp"

namespace redoubt::test {

worker_process::worker_process(worker_options opts)
    : opts_(std::move(opts)), dir_("redoubt-wrk-"), process_("redoubt-worker") {
  log_path_ = dir_.file("worker.log");
  config_path_ = dir_.file("worker.toml");
  auto db = database_for(pg_role::worker);
  write_secret_file(dir_.file("db.pass"), db.password);
  write_secret_file(dir_.file("nats.pass"), opts_.nats_password);
  std::string keys;
  for (const auto& k : opts_.verify_key_files) keys += (keys.empty() ? "" : ", ") + quote_toml(k);
  std::string toml;
  toml += "[database]\nconninfo = " + quote_toml(db.conninfo + opts_.conninfo_extra) +
          "\npassword_file = " + quote_toml(dir_.file("db.pass")) + "\npool_size = 4\n";
  toml += "[nats]\nurl = " + quote_toml(opts_.nats_url) +
          "\nuser = \"redoubt_worker\"\npassword_file = " + quote_toml(dir_.file("nats.pass")) +
          "\nca_file = " + quote_toml(opts_.nats_ca_file) + "\n";
  toml += "[jobs]\nverify_key_files = [" + keys + "]\n";
  toml += "[worker]\npublic_origin = \"https://localhost:8443\"\nlog_level = " +
          quote_toml(opts_.log_level) +
          "\nfetch_wait_ms = 200\n"
          "metrics_file = " +
          quote_toml(dir_.file("metrics.prom")) + "\n" + opts_.extra_worker_toml;
  toml += opts_.email_toml;
  write_secret_file(config_path_, toml);
}

worker_process::~worker_process() = default;

void worker_process::start() {
  // The metrics file is written once the worker is connected and running (any log level).
  const std::string metrics_file = dir_.file("metrics.prom");
  std::error_code ec;
  std::filesystem::remove(metrics_file, ec);
  process_.start({REDOUBT_WORKER_BIN, "--config", config_path_}, log_path_);
  process_.wait_ready(
      [&metrics_file](std::string& why_not) {
        why_not = "no " + metrics_file + " yet";
        return std::filesystem::exists(metrics_file);
      },
      std::chrono::seconds(20));
}

void worker_process::stop() {
  process_.stop(std::chrono::seconds(10));
}

void worker_process::kill9() {
  process_.kill9();
}

bool worker_process::running() const {
  return process_.running();
}

std::string worker_process::state() const {
  return process_.state();
}

std::string worker_process::log() const {
  return process_.log();
}

long long worker_process::metric(const std::string& name) const {
  std::ifstream file(dir_.file("metrics.prom"));
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;  // HELP and TYPE lines
    std::istringstream fields(line);
    std::string n;
    long long v;
    if (fields >> n >> v && n == name) return v;
  }
  return -1;
}

}  // namespace redoubt::test
