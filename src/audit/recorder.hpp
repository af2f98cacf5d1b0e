// Writes audit records for the use cases. A record that cannot be written is never dropped
// silently: it is logged (action, target, error) and counted, and the caller gets the error.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "audit/log_store.hpp"

namespace redoubt::audit {

// Where a request came from, for the record.
struct origin {
  std::string ip;
  std::string request_id;
};

// The target strings the log has always used ("room:5", "room:5 user:7").
std::string target(std::string_view kind, std::int64_t id);
std::string member_target(std::int64_t room, std::int64_t user);

class recorder {
 public:
  explicit recorder(log_store& store) : store_(store) {}

  awaitable<result<void>> record(const entry& e);
  // The common case: actor did action to target, from origin.
  awaitable<result<void>> record(std::optional<std::int64_t> actor, std::string action, std::string target,
                                 const origin& from, std::string details_json = "{}");

  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  log_store& store() { return store_; }

 private:
  log_store& store_;
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace redoubt::audit
