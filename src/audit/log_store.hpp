// The audit log as the domain sees it: append-only entries in a hash chain, signed
// checkpoints of the chain's head, and the page the administration view reads. A port:
// implemented in storage/ (audit_repository), faked in unit tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/awaitable.hpp"
#include "base/errc.hpp"

namespace redoubt::audit {

// One record to append. actor is empty for the system (worker, CLI, anonymous callers).
struct entry {
  std::optional<std::int64_t> actor;
  std::string action;
  std::string target;
  std::string ip;
  std::string request_id;
  std::string outcome = "ok";
  std::string details_json = "{}";
};

// One stored row as the administration page shows it.
struct row {
  std::int64_t id = 0;
  std::string at;
  std::optional<std::int64_t> actor_id;
  std::string actor;  // username, "" if none
  std::string action, target, ip, request_id, outcome, details_json;
};

// The log's newest row and the database clock: what a checkpoint signs.
struct head {
  std::int64_t audit_id = 0;
  std::string audit_hash;
  std::string signed_at;
};

// A stored checkpoint and the hash its row has now (nothing when the row is gone).
struct stored_checkpoint {
  std::int64_t audit_id = 0;
  std::string audit_hash;
  std::string signed_at;
  std::string key_id;
  std::string signature_hex;
  std::optional<std::string> row_hash;
};

struct chain_state {
  std::int64_t checked = 0;
  std::int64_t bad = 0;
  std::optional<std::int64_t> first_bad_id;
};

class log_store {
 public:
  virtual ~log_store() = default;

  virtual awaitable<result<void>> append(const entry& e) = 0;
  // Newest first, id < before (0 = from the newest), at most limit.
  virtual awaitable<result<std::vector<row>>> page(std::int64_t before, int limit) = 0;
  virtual awaitable<result<chain_state>> chain() = 0;
  // Nothing when the log is empty.
  virtual awaitable<result<std::optional<head>>> newest_head() = 0;
  virtual awaitable<result<std::optional<stored_checkpoint>>> newest_checkpoint() = 0;
  // False when that head already has a checkpoint; an error when it does not match the log.
  virtual awaitable<result<bool>> add_checkpoint(const head& h, const std::string& key_id,
                                                 const std::string& signature_hex) = 0;
};

}  // namespace redoubt::audit
