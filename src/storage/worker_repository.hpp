// All SQL of redoubt-worker, as role redoubt_worker: it reads recipients (never password
// hashes or sessions), creates mailed tokens (hashes only), and records what it did.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/awaitable.hpp"
#include "base/errc.hpp"
#include "db/pg.hpp"
#include "storage/audit_repository.hpp"

namespace redoubt::storage {

struct recipient {
  std::int64_t user_id = 0;
  std::string username;
  std::string email;
  std::string display_name;
  bool disabled = false;
  bool email_verified = false;
  bool undeliverable = false;
};

struct delivery_record {
  std::string job_id;
  std::int64_t user_id = 0;
  std::string recipient;
  std::string kind;
  std::string provider;
  std::string provider_message_id;
  std::string correlation_id;
};

// Unread mentions / direct messages of one room not yet covered by a notification email.
struct unread_summary {
  std::int64_t room_id = 0;
  bool direct = false;
  std::string name;  // room name, or the other member's username for a direct room
  std::int64_t count = 0;
  std::string latest;  // created_at of the newest one (timestamptz text)
};

class worker_repository {
 public:
  explicit worker_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)), audit_(pool_) {}

  awaitable<result<std::optional<recipient>>> find_recipient(std::int64_t user_id);
  // True when the job id already has a processed_jobs row (its effect happened).
  awaitable<result<bool>> is_processed(const std::string& job_id);
  awaitable<result<void>> create_email_token(const std::string& token_hash, const std::string& purpose,
                                             std::int64_t user_id, const std::string& job_id,
                                             std::int64_t ttl_seconds);
  awaitable<result<void>> record_delivery(const delivery_record& d);
  // processed_jobs row + outbox.completed_at, in one statement. Idempotent.
  awaitable<result<void>> complete_job(const std::string& job_id, const std::string& kind, const std::string& outcome,
                                       const std::string& correlation_id);
  // Still unread (past the read marker, not deleted) and newer than the last notification.
  awaitable<result<std::vector<unread_summary>>> unread_for_notification(std::int64_t user_id);
  awaitable<result<void>> mark_notified(std::int64_t user_id, const std::string& through);
  // Erases the content of messages past their room's retention, at most `limit`; returns how many.
  awaitable<result<std::int64_t>> apply_retention(int limit);

  // Attachments (thumbnail, scan and clean-up jobs).
  struct attachment_job_row {
    std::int64_t id = 0;
    std::string storage_name;
    std::string content_type;
    std::int64_t size = 0;
    std::string key_id;
    std::string wrapped_key;  // raw
    std::string state;
  };
  // nullopt when the row is gone or being erased.
  awaitable<result<std::optional<attachment_job_row>>> attachment_for_job(std::int64_t id);
  awaitable<result<void>> store_thumbnail(std::int64_t id, const std::string& sealed_png);
  // 'ready' or 'rejected'; only a row still 'scanning' changes. False when none did.
  awaitable<result<bool>> set_scan_result(std::int64_t id, const std::string& state);
  // Marks unreachable attachments and removes rows marked earlier; returns their storage names.
  awaitable<result<std::vector<std::string>>> attachments_gc(std::int64_t unattached_ttl_s);
  awaitable<result<bool>> attachment_exists(const std::string& storage_name);
  awaitable<result<void>> audit(const audit_entry& e) { return audit_.append(e); }

 private:
  std::shared_ptr<db::pool> pool_;
  audit_repository audit_;  // INSERT on audit_log is all the worker may use of it
};

}  // namespace redoubt::storage
