#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "support/process_util.hpp"

extern char** environ;

namespace redoubt::test {
namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool keep_dirs() {
  const char* v = std::getenv("REDOUBT_KEEP_TEST_DIRS");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

// Owns one file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::pair<unique_fd, unique_fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe");
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

unique_fd open_or_throw(const std::string& path, int flags) {
  unique_fd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail_errno("open " + path);
  return fd;
}

// argv[0] as given when it names a path, else the first executable match in $PATH. Done in the
// parent: between fork and exec only async-signal-safe calls are allowed.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("cannot find " + name + " in PATH");
}

std::string_view env_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// The inherited environment with `extra` (NAME=value) added or replacing same-named entries.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || env_name(x) == env_name(*e);
    if (!replaced) out.emplace_back(*e);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Where the child's standard streams go; err_fd -1 keeps the test's own stderr.
struct child_streams {
  int in_fd;
  int out_fd;
  int err_fd;
};

// fork + execve, no shell. The child gets its own process group (a Ctrl-C in the terminal
// reaches only the test, which then stops its children) and dies with the spawning thread.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            child_streams streams) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  std::string program = find_program(argv[0]);
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = merged_environment(env);
  auto arg_ptrs = pointers_to(args);
  auto env_ptrs = pointers_to(envs);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    if (::dup2(streams.in_fd, 0) < 0 || ::dup2(streams.out_fd, 1) < 0) ::_exit(127);
    if (streams.err_fd >= 0 && ::dup2(streams.err_fd, 2) < 0) ::_exit(127);
    ::close_range(3, ~0U, 0);
    ::execve(program.c_str(), arg_ptrs.data(), env_ptrs.data());
    const char msg[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  return pid;
}

int wait_for_pid(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Writes `input` to fd and closes it; a child that exits without reading gets no SIGPIPE to us.
std::thread write_in_background(unique_fd fd, const std::string& input) {
  return std::thread([fd = std::move(fd), &input]() mutable {
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(fd.get(), input.data() + off, input.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  });
}

// Reads fd until EOF or the deadline; false on timeout.
bool read_until_eof(int fd, clock_type::time_point deadline, std::string& out) {
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) return true;
    if (r <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

temp_dir::temp_dir(std::string_view prefix) : path_(make_temp_dir(prefix)) {}

temp_dir::~temp_dir() {
  if (keep_dirs()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int decode_exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

std::string describe_exit_status(int decoded_status) {
  if (decoded_status < 0) return "killed by signal " + std::to_string(-decoded_status);
  return "exited with status " + std::to_string(decoded_status);
}

std::string tail_of(const std::string& text, std::size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

command_result run_command(const std::vector<std::string>& argv, const command_options& opts) {
  auto [out_read, out_write] = make_pipe();
  unique_fd in_read, in_write;
  if (opts.input.empty()) {
    in_read = open_or_throw("/dev/null", O_RDONLY);
  } else {
    std::tie(in_read, in_write) = make_pipe();
  }
  int err_fd = opts.capture_stderr ? out_write.get() : -1;
  pid_t pid = spawn(argv, opts.env, {in_read.get(), out_write.get(), err_fd});
  in_read.reset();
  out_write.reset();

  std::thread writer;
  if (in_write.get() >= 0) writer = write_in_background(std::move(in_write), opts.input);
  command_result result;
  bool finished = read_until_eof(out_read.get(), clock_type::now() + opts.timeout, result.output);
  if (!finished) ::kill(pid, SIGKILL);
  result.status = decode_exit_status(wait_for_pid(pid));
  if (writer.joinable()) writer.join();
  if (!finished) result.output += "\n[" + argv[0] + ": killed after timeout]\n";
  return result;
}

// ---------------------------------------------------------------------------------------------

child_process::~child_process() {
  try {
    stop();
  } catch (...) {
    // Best effort: the child dies with us anyway (PR_SET_PDEATHSIG).
  }
}

void child_process::start(const std::vector<std::string>& argv, const std::string& log_path,
                          const std::vector<std::string>& env) {
  if (running()) throw std::logic_error(name_ + ": already running");
  unique_fd log_fd = open_or_throw(log_path, O_WRONLY | O_CREAT | O_APPEND);
  unique_fd null_fd = open_or_throw("/dev/null", O_RDONLY);
  struct stat st {};
  log_offset_ = ::fstat(log_fd.get(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  log_path_ = log_path;
  pid_ = spawn(argv, env, {null_fd.get(), log_fd.get(), log_fd.get()});
  exit_status_.reset();
}

void child_process::wait_ready(const readiness_check& ready, std::chrono::milliseconds deadline,
                               std::chrono::milliseconds interval) {
  auto until = clock_type::now() + deadline;
  std::string why_not = "no answer yet";
  for (;;) {
    if (ready(why_not)) return;
    reap(false);
    if (pid_ <= 0) {
      throw std::runtime_error(name_ + " exited during startup (" + state() + "); log:\n" +
                               tail_of(log_since_start()));
    }
    if (clock_type::now() >= until) {
      kill9();
      throw std::runtime_error(name_ + " not ready after " + std::to_string(deadline.count()) +
                               " ms (last: " + why_not + "); log:\n" + tail_of(log_since_start()));
    }
    std::this_thread::sleep_for(interval);
  }
}

void child_process::reap(bool block) const {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_status_ = decode_exit_status(status);
    pid_ = -1;
  } else if (r < 0) {
    pid_ = -1;  // not our child any more (ECHILD)
  }
}

void child_process::kill9() {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void child_process::stop(std::chrono::milliseconds grace, int polite_signal) {
  reap(false);
  if (pid_ <= 0) return;
  ::kill(pid_, polite_signal);
  if (!wait_exit(grace)) kill9();
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    reap(false);
    if (pid_ <= 0) return exit_status_;
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool child_process::running() const {
  reap(false);
  return pid_ > 0;
}

std::string child_process::state() const {
  if (running()) return "running";
  if (!exit_status_) return "not started";
  return describe_exit_status(*exit_status_);
}

std::string child_process::log() const {
  return read_whole_file(log_path_);
}

std::string child_process::log_since_start() const {
  std::string all = log();
  return log_offset_ < all.size() ? all.substr(log_offset_) : std::string();
}

}  // namespace redoubt::test
