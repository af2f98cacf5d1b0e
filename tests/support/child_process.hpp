// The one way the test harness runs other programs: PostgreSQL and NATS scripts, nats-server,
// clamd, redoubt-server, redoubt-worker, redoubtctl. No shell; secrets travel in files (0600)
// or the environment, never on the command line (visible to every user in /proc).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redoubt::test {

// A fresh directory $TMPDIR/<prefix>XXXXXX (mode 0700), removed with its contents on
// destruction unless REDOUBT_KEEP_TEST_DIRS is set (to look at logs after a failure).
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix);
  ~temp_dir();

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  temp_dir(const temp_dir&) = delete;  // owns the directory
  temp_dir& operator=(const temp_dir&) = delete;

 private:
  std::string path_;
};

// Exit code, or -signal number when the process was killed by a signal (from a waitpid status).
int decode_exit_status(int waitpid_status);
// "exited with status N" or "killed by signal N", from a decoded status.
std::string describe_exit_status(int decoded_status);
// At most the last `max_chars` of `text` ("..." in front when cut), for failure messages.
std::string tail_of(const std::string& text, std::size_t max_chars = 6000);

struct command_options {
  std::string input;             // written to stdin; /dev/null when empty
  bool capture_stderr = true;    // false: stderr goes to the test's stderr, not into output
  std::vector<std::string> env;  // NAME=value, added to (or replacing in) the inherited env
  std::chrono::milliseconds timeout = std::chrono::seconds(120);  // then SIGKILL
};

struct command_result {
  int status = -1;     // decoded: exit code or -signal
  std::string output;  // stdout (and stderr unless passed through)
};

// Runs argv (argv[0] absolute, or looked up in PATH) to completion and captures its output.
command_result run_command(const std::vector<std::string>& argv, const command_options& opts = {});

// One long-running child: started with argv + env, stdout and stderr appended to a log file,
// waited for until ready, stopped by PID (a polite signal, then SIGKILL after a grace period).
// The child dies with the thread that started it (PR_SET_PDEATHSIG), so a crashed test leaves
// nothing behind. Not thread-safe: owned and driven by one test thread.
class child_process {
 public:
  explicit child_process(std::string name) : name_(std::move(name)) {}
  ~child_process();  // stop()
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Spawns argv; throws if one is already running or exec setup fails.
  void start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& env = {});
  // Polls `ready` (which may say why not) until it returns true. If the child exits first, or
  // `deadline` passes (the child is then SIGKILLed), throws with the log written since start().
  using readiness_check = std::function<bool(std::string& why_not)>;
  void wait_ready(const readiness_check& ready, std::chrono::milliseconds deadline,
                  std::chrono::milliseconds interval = std::chrono::milliseconds(50));

  // Sends `polite_signal`, waits up to `grace`, then SIGKILL; no-op when not running.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10),
            int polite_signal = SIGTERM);
  void kill9();
  // Waits up to timeout for the child to exit by itself; returns exit_status() if it did.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  bool running() const;
  pid_t pid() const { return pid_; }                               // -1 when not running
  std::optional<int> exit_status() const { return exit_status_; }  // of the last child reaped
  std::string state() const;  // "not started", "running", or describe_exit_status()
  const std::string& name() const { return name_; }

  std::string log() const;              // the whole log file
  std::string log_since_start() const;  // what the current (or last) child wrote

 private:
  void reap(bool block) const;

  std::string name_;
  std::string log_path_;
  std::size_t log_offset_ = 0;
  mutable pid_t pid_ = -1;
  mutable std::optional<int> exit_status_;
};

}  // namespace redoubt::test
