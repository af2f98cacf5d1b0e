// One outgoing email and its RFC 5322 form. Header injection is impossible by construction:
// addresses are validated and no header value may contain CR, LF or other control characters.
#pragma once

#include <string>
#include <string_view>

#include "base/errc.hpp"

namespace redoubt::email {

struct email_message {
  std::string to;               // validated address
  std::string subject;          // one line, no control characters
  std::string text;             // UTF-8 plain text body
  std::string idempotency_key;  // the job id: the provider drops a repeat
  std::string correlation_id;
  std::string kind;             // verify_email, password_reset, ...
};

// Checks every field that ends up in a header; invalid_argument names the field.
result<void> validate(const email_message& m, std::string_view from_address);

// text/plain; charset=utf-8, CRLF line ends, headers From/To/Subject/Date/Message-ID plus
// X-Redoubt-Correlation-Id. Call validate() first.
std::string render_rfc5322(const email_message& m, std::string_view from_address, std::string_view from_name,
                           std::string_view message_id, std::string_view date);

// RFC 5322 date for now, e.g. "Mon, 23 Nov 2026 22:54:03 +0000".
std::string rfc5322_date_now();

bool header_safe(std::string_view value) noexcept;

}  // namespace redoubt::email
