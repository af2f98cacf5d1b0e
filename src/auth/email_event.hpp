// The email provider's delivery event, as api/email_webhook parses it and auth::admin applies
// it. Plain data (no I/O), so that the webhook parser builds without the rest of auth/ (fuzzed).
#pragma once

#include <string>

namespace redoubt::auth {

// A provider's delivery event that passed the signature check (api/email_webhook).
struct email_event {
  std::string id;
  std::string type;
  std::string recipient;
  std::string message_id;
};

}  // namespace redoubt::auth
