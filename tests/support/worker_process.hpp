// A real redoubt-worker process for integration tests: own temp dir and config (database role
// redoubt_worker, broker account redoubt_worker, trusted signing keys, email provider).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace redoubt::test {

struct worker_options {
  std::string nats_url;
  std::string nats_password;
  std::string nats_ca_file;
  std::vector<std::string> verify_key_files;
  std::string email_toml;                                      // the whole [email] section
  std::string extra_worker_toml = "retry_backoff_ms = 200\n";  // lines in [worker]
  std::string log_level = "debug";
  std::string conninfo_extra;  // appended to the database conninfo (a repeated key wins)
};

class worker_process {
 public:
  explicit worker_process(worker_options opts);
  ~worker_process();  // SIGTERM, wait, SIGKILL; removes the temp dir
  worker_process(const worker_process&) = delete;
  worker_process& operator=(const worker_process&) = delete;

  // Starts and waits (20 s) for the metrics file, written once the worker runs; throws with
  // the log since start otherwise.
  void start();
  void stop();
  void kill9();
  bool running() const;
  // "running", "exited with status N" or "killed by signal N" (for failure messages).
  std::string state() const;

  const std::string& dir() const { return dir_.path(); }
  std::string log() const;
  // A value from the metrics file (redoubt_worker_*), -1 if absent.
  long long metric(const std::string& name) const;

 private:
  worker_options opts_;
  temp_dir dir_;
  std::string config_path_;
  std::string log_path_;
  child_process process_;  // declared after dir_: stopped before the directory goes
};

}  // namespace redoubt::test
