// Runs one delivered job to the end: verify the envelope, refuse replays, run the handler
// idempotently, then ack; or retry with backoff; or dead-letter with an audit entry and a
// metric. No input makes it throw or crash.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/config.hpp"
#include "email/sender.hpp"
#include "file_jobs.hpp"
#include "queue/envelope.hpp"
#include "queue/job_consumer.hpp"
#include "queue/job_types.hpp"
#include "storage/worker_repository.hpp"

namespace redoubt::worker {

struct job_stats {
  std::atomic<std::uint64_t> done_total{0};
  std::atomic<std::uint64_t> skipped_total{0};
  std::atomic<std::uint64_t> retried_total{0};
  std::atomic<std::uint64_t> dead_lettered_total{0};
  std::atomic<std::uint64_t> rejected_total{0};  // failed verification: forged, modified, expired, replayed
};

class job_runner {
 public:
  job_runner(const worker_settings& s, storage::worker_repository& repo, email::sender& sender,
             boost::asio::thread_pool& blocking, queue::job_consumer& consumer,
             std::map<std::string, std::string> trusted_keys, file_jobs* files = nullptr);

  boost::asio::awaitable<void> handle(std::shared_ptr<queue::delivery> d);
  const job_stats& stats() const { return stats_; }

  // bad_payload: the signed payload does not decode; dead-lettered at once, never retried.
  enum class outcome { done, skipped, retry, fail, bad_payload };
  struct handler_result {
    outcome what = outcome::fail;
    std::string error;
  };

 private:
  // One handler per job type (the table is in handler_for); each decodes its own payload.
  using handler = boost::asio::awaitable<handler_result> (job_runner::*)(const queue::job_envelope& job);
  static handler handler_for(queue::job_type type) noexcept;

  boost::asio::awaitable<handler_result> run_verify_email(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_password_reset(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_signup_existing_email(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_notify_unread(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_retention(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_thumbnail(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_scan_attachment(const queue::job_envelope& job);
  boost::asio::awaitable<handler_result> run_files_maintenance(const queue::job_envelope& job);

  boost::asio::awaitable<handler_result> run_email_job(const std::string& job_id, queue::job_type type,
                                                       const std::string& correlation_id, std::int64_t user_id);
  // thumbnail and scan_attachment: the same payload, a different file_jobs step.
  using attachment_job = boost::asio::awaitable<file_job_result> (file_jobs::*)(std::int64_t, std::string);
  boost::asio::awaitable<handler_result> run_attachment_job(const queue::job_envelope& job, attachment_job run);
  static handler_result file_job_outcome(const file_job_result& r);
  boost::asio::awaitable<handler_result> run_retention_job(const std::string& job_id,
                                                           const std::string& correlation_id);
  boost::asio::awaitable<handler_result> run_notify_job(const std::string& job_id, const std::string& correlation_id,
                                                        std::int64_t user_id);
  boost::asio::awaitable<void> reject(std::shared_ptr<queue::delivery> d, std::string reason, std::string job_id,
                                      std::string type, std::string correlation_id,
                                      bool verification_failed = true);

  const worker_settings& s_;
  storage::worker_repository& repo_;
  email::sender& sender_;
  boost::asio::thread_pool& blocking_;
  queue::job_consumer& consumer_;
  std::map<std::string, std::string> trusted_keys_;
  file_jobs* files_;
  job_stats stats_;
};

}  // namespace redoubt::worker
