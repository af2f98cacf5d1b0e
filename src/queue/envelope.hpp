// Signed job envelopes: what redoubt-server puts on JetStream and redoubt-worker accepts.
// Pure functions (no I/O, no NATS): the envelope is a JSON object signed as raw bytes with the
// server's Ed25519 key, so the worker never re-serializes before verifying.
//
//   data      {"v":1,"id":"<uuid>","type":"verify_email","created_at":<unix s>,
//              "expires_at":<unix s>,"correlation_id":"...","payload":{...}}
//   headers   Nats-Msg-Id: <id>   Redoubt-Key-Id: <key id>   Redoubt-Signature: <hex>
//
// Payloads carry ids only, never tokens, passwords or message bodies.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/errc.hpp"
#include "base/secret.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::queue {

inline constexpr std::size_t max_envelope_bytes = 16 * 1024;
inline constexpr std::int64_t max_clock_skew_seconds = 300;

struct job_envelope {
  std::string id;              // outbox id (uuid text)
  std::string type;            // [a-z_]{1,40}; also the subject suffix: jobs.<type>
  std::int64_t created_at = 0;  // unix seconds
  std::int64_t expires_at = 0;
  std::string correlation_id;   // follows the job from the HTTP request to the delivery record
  std::string payload_json = "{}";  // a JSON object
};

struct signed_job {
  std::string data;       // the envelope bytes
  std::string key_id;
  std::string signature;  // lowercase hex
};

using crypto::signing_key_id;

// Serializes and signs. Fails (invalid_argument) on fields the verifier would refuse.
result<signed_job> seal(const job_envelope& job, const secret_string& secret_key, std::string_view public_key);

enum class rejection { malformed, unknown_key, bad_signature, expired, not_yet_valid };
std::string_view rejection_name(rejection r) noexcept;

struct open_result {
  bool ok = false;
  rejection why = rejection::malformed;
  job_envelope job;
};

// Verifies size, key id, signature (before parsing anything), then the schema and the time
// window. trusted_keys maps key id -> raw 32-byte public key. Never throws on any input.
open_result open(std::string_view data, std::string_view key_id, std::string_view signature_hex,
                 const std::map<std::string, std::string>& trusted_keys, std::int64_t now);

// True for a canonical lowercase 8-4-4-4-12 uuid.
bool valid_job_id(std::string_view id) noexcept;

}  // namespace redoubt::queue
