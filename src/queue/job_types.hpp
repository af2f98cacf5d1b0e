// The job types redoubt-server queues (outbox rows, SQL in migrations/ and src/storage) and
// redoubt-worker runs, with the payload of each. The envelope (queue/envelope.hpp) carries the
// type as text so that a type this worker does not know is still opened and dead-lettered as
// `unknown_type`; everything after that goes through this enum. Unit tests check that the SQL
// names no other type and that every type is queued somewhere (kinds_drift_test.cpp).
//
// Payloads carry ids only, never tokens, passwords or message bodies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/errc.hpp"

namespace redoubt::queue {

enum class job_type {
  verify_email,       // mail a verification link
  password_reset,     // mail a password reset link
  notify_unread,      // mail a summary of unread mentions and direct messages
  retention,          // erase messages older than their room's retention (hourly)
  thumbnail,          // render an image attachment's thumbnail
  scan_attachment,    // scan an attachment with clamd
  files_maintenance,  // erase unreachable attachments, orphans and stale uploads (hourly)
  signup_existing_email,  // tell an address's owner that someone signed up with it (no link)
};

inline constexpr std::array all_job_types{
    job_type::verify_email,      job_type::password_reset, job_type::notify_unread,
    job_type::retention,         job_type::thumbnail,      job_type::scan_attachment,
    job_type::files_maintenance, job_type::signup_existing_email,
};

std::string_view to_string(job_type t) noexcept;
std::optional<job_type> job_type_from_string(std::string_view s) noexcept;

// {"user_id":N}: verify_email, password_reset, notify_unread, signup_existing_email.
struct user_job_payload {
  std::int64_t user_id = 0;
};
std::string encode_payload(const user_job_payload& p);
using verify_email_payload = user_job_payload;
using password_reset_payload = user_job_payload;
using notify_unread_payload = user_job_payload;
using signup_existing_email_payload = user_job_payload;

// {"attachment_id":N}: thumbnail, scan_attachment.
struct attachment_job_payload {
  std::int64_t attachment_id = 0;
};
std::string encode_payload(const attachment_job_payload& p);
using thumbnail_payload = attachment_job_payload;
using scan_attachment_payload = attachment_job_payload;

// {}: retention, files_maintenance (they work on whatever is due when they run).
struct empty_job_payload {};
std::string encode_payload(const empty_job_payload& p);
using retention_payload = empty_job_payload;
using files_maintenance_payload = empty_job_payload;

// Reads an envelope's payload_json. Ids must be JSON integers > 0; other fields are ignored.
// An error here is the worker's `bad_payload` dead-letter reason.
template <class Payload>
result<Payload> decode_payload(std::string_view json);

}  // namespace redoubt::queue
