// The external email service over SMTP, replaced in tests: an SMTPS server (implicit TLS 1.3,
// its own CA) on 127.0.0.1 that accepts any authenticated-or-not sender and records each
// message: envelope sender, recipients and the raw RFC 5322 text. Own thread; thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace redoubt::test {

struct smtp_message {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // as received, dot-stuffing undone, CRLF line ends
};

class smtp_sink {
 public:
  smtp_sink();
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  std::string url() const;  // smtps://localhost:<port>
  const std::string& ca_file() const;
  std::vector<smtp_message> messages() const;
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace redoubt::test
