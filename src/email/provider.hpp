// Email providers behind one interface: a mailbox directory (development), an HTTPS JSON API
// and SMTP (both via libcurl, TLS 1.3 only, certificates verified). Each call is blocking and
// bounded by the configured timeouts: run it on the worker's pool, never an io_context thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/config.hpp"
#include "email/message.hpp"

namespace redoubt::email {

struct send_outcome {
  bool ok = false;
  bool retryable = false;           // network trouble, 5xx, 429: try again later
  std::string provider_message_id;  // when the provider returns one
  std::string error;                // safe to log (no secrets, no body)
};

class provider {
 public:
  virtual ~provider() = default;
  virtual std::string_view name() const = 0;
  virtual send_outcome send(const email_message& m) = 0;
};

// One per configured provider; fails on an unusable configuration (e.g. mailbox dir).
result<std::unique_ptr<provider>> make_provider(const email_settings& s);

// Must be called once before any thread uses a curl-based provider.
void global_init();

}  // namespace redoubt::email
