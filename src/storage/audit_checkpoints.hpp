// The owner-role check of every signed audit checkpoint (`redoubtctl audit verify --key`).
// Signing and the single-checkpoint check are the domain's: audit/checkpoints.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

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
