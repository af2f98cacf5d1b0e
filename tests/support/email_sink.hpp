// The external email service, replaced in tests: a local HTTPS JSON endpoint (TLS 1.3, its own
// CA made by scripts/dev-tls.sh) that records what it receives and can be told to fail, hang or
// answer slowly. Idempotency-Key is honoured like a real provider: a repeat is answered with the
// first answer and not recorded again. Runs on its own thread; all methods are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace redoubt::test {

struct received_email {
  std::string idempotency_key;
  std::string correlation_id;
  std::string from;
  std::string to;
  std::string subject;
  std::string text;
  std::string tag;
};

enum class sink_mode { ok, fail_500, hang, slow };

class email_sink {
 public:
  explicit email_sink(std::string api_key);
  ~email_sink();
  email_sink(const email_sink&) = delete;
  email_sink& operator=(const email_sink&) = delete;

  std::string url() const;  // https://localhost:<port>/v1/send
  const std::string& ca_file() const;
  const std::string& dir() const;

  void set_mode(sink_mode m, std::chrono::milliseconds slow_delay = std::chrono::milliseconds(0));
  std::vector<received_email> emails() const;  // accepted, without repeats
  int requests() const;                        // every POST, also failed and repeated ones
  int repeats() const;                         // POSTs with an Idempotency-Key seen before
  int unauthorized() const;                    // POSTs with a wrong or missing API key
  // Waits until at least n emails were accepted; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

// Extracts the token from a Redoubt email link ".../verify-email#token=XYZ"; "" if none.
std::string token_from_email(const std::string& text);

}  // namespace redoubt::test
