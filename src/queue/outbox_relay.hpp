// The outbox relay of redoubt-server: publishes outbox rows to JetStream as signed envelopes and
// marks them published once the stream acknowledged them. The same loop is the reconciler: a
// row whose claim expired (a relay died) or that the worker did not complete within
// republish_after is claimed and published again. PostgreSQL stays the system of record, so
// lost JetStream data only delays jobs. (The periodic retention and attachment clean-up jobs
// are queued by the server's maintenance loop, app/background.)
//
// Threads: the loop runs on a strand of the server's io_context; the blocking JetStream publish
// runs on the relay's own one-thread pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/config.hpp"

namespace redoubt::storage {
class outbox_repository;
}

namespace redoubt::queue {

class event_bus;

struct relay_stats {
  std::atomic<std::uint64_t> published_total{0};
  std::atomic<std::uint64_t> publish_failures_total{0};
  std::atomic<std::int64_t> unpublished{0};  // last count seen
  std::atomic<std::int64_t> oldest_unpublished_seconds{0};
  std::atomic<bool> backlog_alarm{false};
};

class outbox_relay {
 public:
  outbox_relay(boost::asio::any_io_executor ex, storage::outbox_repository& repo, event_bus& bus, const jobs_settings& s);
  ~outbox_relay();
  outbox_relay(const outbox_relay&) = delete;
  outbox_relay& operator=(const outbox_relay&) = delete;

  // The relay loop, on the relay's strand, until stop(); run it under kit::supervisor, which
  // starts it again should it throw.
  boost::asio::awaitable<void> run();
  // Thread-safe: a job was just committed; publish without waiting for the next poll.
  void notify();
  void stop();

  const relay_stats& stats() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace redoubt::queue
