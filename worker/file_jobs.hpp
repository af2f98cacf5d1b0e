// The worker's attachment jobs: thumbnails of images, malware scans through clamd, and the
// periodic clean-up (unreachable attachments, orphaned files, stale uploads).
#pragma once

#include <mutex>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/config.hpp"
#include "files/file_crypto.hpp"
#include "files/file_store.hpp"
#include "storage/worker_repository.hpp"

namespace redoubt::worker {

// true: the job had an effect; false: nothing to do (skipped). An error with code internal
// or failed_precondition is permanent (dead-letter); any other code asks for a retry.
using file_job_result = result<bool>;

class file_jobs {
 public:
  file_jobs(const worker_settings& s, storage::worker_repository& repo, boost::asio::thread_pool& blocking,
            files::file_store store, files::key_ring ring);

  boost::asio::awaitable<file_job_result> thumbnail(std::int64_t attachment_id, std::string correlation_id);
  boost::asio::awaitable<file_job_result> scan(std::int64_t attachment_id, std::string correlation_id);
  boost::asio::awaitable<file_job_result> maintenance(std::string job_id, std::string correlation_id);

 private:
  result<secret_string> data_key(const storage::worker_repository::attachment_job_row& row);

  const worker_settings& s_;
  storage::worker_repository& repo_;
  boost::asio::thread_pool& blocking_;
  files::file_store store_;
  std::mutex ring_mutex_;
  files::key_ring ring_;
};

// Sends bytes to clamd with INSTREAM over its Unix socket. Blocking. Returns "" when clean or
// the signature name when infected; unavailable when clamd cannot be reached or answers oddly.
class clamd_stream {
 public:
  clamd_stream(const std::string& socket_path, std::chrono::seconds timeout);
  ~clamd_stream();
  clamd_stream(const clamd_stream&) = delete;
  clamd_stream& operator=(const clamd_stream&) = delete;
  result<void> send(std::string_view bytes);
  result<std::string> finish();

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace redoubt::worker
