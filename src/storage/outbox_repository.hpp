// The transactional outbox, relay side (see migrations/0002_jobs.sql), the periodic jobs the
// server queues, and the schema probes. Thread-safe (stateless apart from the shared pool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/errc.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

// An outbox row claimed for publishing.
struct outbox_job {
  std::string id;
  std::string kind;
  std::string payload_json;
  std::string correlation_id;
  std::int64_t created_at = 0;  // unix seconds
  std::int64_t expires_at = 0;
};

struct outbox_counts {
  std::int64_t unpublished = 0;
  std::int64_t incomplete = 0;
  std::int64_t oldest_unpublished_seconds = 0;  // 0 when nothing waits
};

class outbox_repository {
 public:
  explicit outbox_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  boost::asio::awaitable<result<std::vector<outbox_job>>> claim(int limit, std::int64_t claim_seconds,
                                                                std::int64_t republish_after_seconds);
  boost::asio::awaitable<result<void>> finish_claims(const std::vector<std::string>& published,
                                                     const std::vector<std::string>& released);
  boost::asio::awaitable<result<outbox_counts>> counts();
  // Queues the periodic retention job unless one is pending or no room has retention.
  boost::asio::awaitable<result<bool>> enqueue_retention_job();
  // Queues the periodic attachment clean-up (files_maintenance) unless one is pending.
  boost::asio::awaitable<result<bool>> enqueue_files_maintenance_job();

 private:
  std::shared_ptr<db::pool> pool_;
};

// The newest migration applied to the database the pool reaches.
boost::asio::awaitable<result<int>> schema_version(db::pool& pool);
// One round trip: the readiness probe.
boost::asio::awaitable<result<void>> ping(db::pool& pool);

}  // namespace redoubt::storage
