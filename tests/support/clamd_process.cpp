#include "support/clamd_process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "support/process_util.hpp"
#include "support/server_process.hpp"

namespace redoubt::test {
namespace {

constexpr const char* clamd_bin = "/usr/sbin/clamd";

bool answers_ping(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    static constexpr char ping[] = "zPING";
    char reply[16] = {};
    if (::send(fd, ping, sizeof ping, MSG_NOSIGNAL) == sizeof ping) {
      auto n = ::recv(fd, reply, sizeof reply - 1, 0);
      ok = n >= 4 && std::strncmp(reply, "PONG", 4) == 0;
    }
  }
  ::close(fd);
  return ok;
}

std::string hex_of(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

bool clamd_process::available() { return ::access(clamd_bin, X_OK) == 0; }

std::string clamd_process::eicar() {
  return R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";
}

clamd_process::clamd_process() {
  dir_ = make_temp_dir("redoubt-clamd-");
  socket_ = dir_ + "/clamd.sock";
  std::filesystem::create_directory(dir_ + "/db");
  // A body signature: found anywhere in a stream, also inside larger files.
  std::ofstream(dir_ + "/db/redoubt-test.ndb") << "Redoubt-Test-EICAR:0:*:" << hex_of("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")
                                                << "\n";
  std::ofstream(dir_ + "/clamd.conf") << "Foreground yes\nLocalSocket " << socket_ << "\nDatabaseDirectory " << dir_
                                      << "/db\nPidFile " << dir_ << "/clamd.pid\nStreamMaxLength 200M\n"
                                      << "MaxThreads 2\nSelfCheck 0\n";
  try {
    pid_ = spawn_logged({clamd_bin, "--config-file=" + dir_ + "/clamd.conf"}, dir_ + "/clamd.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!answers_ping(socket_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("clamd exited at start:\n" + log());
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("clamd did not answer PING:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (...) {
    stop();  // the destructor does not run when the constructor throws
    throw;
  }
}

clamd_process::~clamd_process() { stop(); }

void clamd_process::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string clamd_process::log() const {
  std::ifstream in(dir_ + "/clamd.log");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace redoubt::test
