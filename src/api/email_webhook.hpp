// The email provider's delivery/bounce webhook: signature check and strict parsing. Pure.
//   X-Redoubt-Timestamp: <unix seconds>
//   X-Redoubt-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//   body {"id": "...", "type": "delivered"|"bounced"|"complained", "recipient": "...",
//         "message_id": "..."(optional)}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/email_event.hpp"
#include "base/errc.hpp"

namespace redoubt::api {

inline constexpr std::size_t max_webhook_body_bytes = 16 * 1024;

using auth::email_event;

// unauthenticated for a missing/bad signature or a timestamp outside now +- tolerance;
// payload_too_large over max_webhook_body_bytes. Constant-time comparison.
result<void> verify_webhook_signature(std::string_view secret, std::string_view timestamp,
                                      std::string_view signature, std::string_view body, std::int64_t now,
                                      std::int64_t tolerance_seconds);

// invalid_argument for anything but the schema above.
result<email_event> parse_email_event(std::string_view body);

// What a provider (and the tests) send: "v1=<hex>".
std::string sign_webhook(std::string_view secret, std::string_view timestamp, std::string_view body);

}  // namespace redoubt::api
