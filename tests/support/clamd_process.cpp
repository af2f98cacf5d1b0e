#include "support/clamd_process.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

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

bool clamd_process::available() {
  return ::access(clamd_bin, X_OK) == 0;
}

std::string clamd_process::eicar() {
  return R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";
}

clamd_process::clamd_process() : dir_("redoubt-clamd-"), process_("clamd") {
  socket_ = dir_.file("clamd.sock");
  std::filesystem::create_directory(dir_.file("db"));
  // A body signature: found anywhere in a stream, also inside larger files.
  std::ofstream(dir_.file("db/redoubt-test.ndb"))
      << "Redoubt-Test-EICAR:0:*:" << hex_of("EICAR-STANDARD-ANTIVIRUS-TEST-FILE") << "\n";
  std::ofstream(dir_.file("clamd.conf"))
      << "Foreground yes\nLocalSocket " << socket_ << "\nDatabaseDirectory " << dir_.file("db")
      << "\nPidFile " << dir_.file("clamd.pid") << "\nStreamMaxLength 200M\n"
      << "MaxThreads 2\nSelfCheck 0\n";
  process_.start({clamd_bin, "--config-file=" + dir_.file("clamd.conf")}, dir_.file("clamd.log"));
  process_.wait_ready(
      [this](std::string& why_not) {
        why_not = "no PONG on " + socket_;
        return answers_ping(socket_);
      },
      std::chrono::seconds(20));
}

clamd_process::~clamd_process() {
  process_.stop(std::chrono::seconds(5));
}

std::string clamd_process::log() const {
  return process_.log();
}

}  // namespace redoubt::test
