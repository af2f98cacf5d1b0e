// A real clamd (Debian clamav-daemon) for the malware-scan tests: own temp dir, Unix socket,
// and a one-signature database that detects the EICAR test string (no internet needed: no
// freshclam). Stopped (SIGTERM, then SIGKILL) and removed on destruction.
#pragma once

#include <sys/types.h>

#include <string>

#include "support/child_process.hpp"

namespace redoubt::test {

class clamd_process {
 public:
  clamd_process();  // starts clamd and waits (20 s) until it answers PING; throws with its log
  ~clamd_process();
  clamd_process(const clamd_process&) = delete;
  clamd_process& operator=(const clamd_process&) = delete;

  static bool available();     // a clamd binary is installed
  static std::string eicar();  // the 68-byte EICAR anti-virus test file
  static std::string signature_name() { return "Redoubt-Test-EICAR.UNOFFICIAL"; }

  const std::string& socket_path() const { return socket_; }
  pid_t pid() const { return process_.pid(); }
  std::string log() const;

 private:
  temp_dir dir_;
  std::string socket_;
  child_process process_;  // declared after dir_: stopped (SIGTERM, 5 s, SIGKILL) before it goes
};

}  // namespace redoubt::test
