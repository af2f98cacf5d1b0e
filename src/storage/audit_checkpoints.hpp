// Signed checkpoints of the audit log (migrations/0007_audit_checkpoints.sql): the server
// signs the chain's newest (id, hash) with its Ed25519 key, so that a chain rewritten or cut
// short by someone with write access to the database no longer matches what was signed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "base/secret.hpp"
#include "db/pg.hpp"
#include "storage/repository.hpp"

namespace redoubt::storage {

// The bytes a checkpoint's signature covers.
std::string audit_checkpoint_message(std::int64_t audit_id, std::string_view audit_hash,
                                     std::string_view signed_at);

// Signs the chain's current head and stores the checkpoint. Returns the head when a new
// checkpoint was stored; nothing when the log is empty or the head already had one.
boost::asio::awaitable<result<std::optional<audit_head>>> checkpoint_audit_log(
    repository& repo, const secret_string& secret_key, std::string_view public_key);

// Adds a checkpoint now and then every `interval` until stop() (each node may; the database
// keeps one per head).
class audit_checkpointer {
 public:
  audit_checkpointer(boost::asio::any_io_executor ex, repository& repo, secret_string secret_key,
                     std::string public_key, std::chrono::seconds interval);
  ~audit_checkpointer();
  void start();
  void stop();

  struct impl;  // shared with the running loop

 private:
  std::shared_ptr<impl> impl_;
};

enum class checkpoint_status { ok, unknown_key, bad_signature, row_missing, row_changed };

// Checks one checkpoint against `trusted` (key id -> raw Ed25519 public key) and its row.
checkpoint_status check_checkpoint(const stored_checkpoint& c,
                                   const std::map<std::string, std::string>& trusted);
// What a failed check means, as a sentence fragment; "" for ok.
std::string_view describe(checkpoint_status s);
// For the API: "ok", "unknown_key", "tampered".
std::string_view status_name(checkpoint_status s);

struct checkpoint_report {
  std::int64_t checkpoints = 0;       // stored
  std::int64_t verified = 0;          // signed by a trusted key and still matching the log
  std::int64_t unchecked = 0;         // signed by a key not in `trusted`
  std::vector<std::string> problems;  // one sentence per checkpoint that fails
  std::optional<std::int64_t> newest_verified_id;
  std::string newest_verified_at;
  std::int64_t rows_after_newest = 0;  // rows newer than the newest verified checkpoint
};

// Checks every checkpoint against `trusted` (key id -> raw Ed25519 public key) and the log.
// Run as the owner role.
boost::asio::awaitable<result<checkpoint_report>> verify_audit_checkpoints(
    db::connection& conn, const std::map<std::string, std::string>& trusted);

}  // namespace redoubt::storage
