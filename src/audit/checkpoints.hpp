// Signed checkpoints of the audit log (migrations/0007_audit_checkpoints.sql): the server
// signs the chain's newest (id, hash) with its Ed25519 key, so that a chain rewritten or cut
// short by someone with write access to the database no longer matches what was signed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "audit/log_store.hpp"
#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::audit {

// The bytes a checkpoint's signature covers.
std::string audit_checkpoint_message(std::int64_t audit_id, std::string_view audit_hash,
                                     std::string_view signed_at);

// Signs the chain's current head and stores the checkpoint. Returns the head when a new
// checkpoint was stored; nothing when the log is empty or the head already had one.
boost::asio::awaitable<result<std::optional<head>>> checkpoint_audit_log(
    log_store& store, const secret_string& secret_key, std::string_view public_key);

enum class checkpoint_status { ok, unknown_key, bad_signature, row_missing, row_changed };

// Checks one checkpoint against `trusted` (key id -> raw Ed25519 public key) and its row.
checkpoint_status check_checkpoint(const stored_checkpoint& c,
                                   const std::map<std::string, std::string>& trusted);
// What a failed check means, as a sentence fragment; "" for ok.
std::string_view describe(checkpoint_status s);
// For the API: "ok", "unknown_key", "tampered".
std::string_view status_name(checkpoint_status s);

}  // namespace redoubt::audit
