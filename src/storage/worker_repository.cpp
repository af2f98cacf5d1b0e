#include "storage/worker_repository.hpp"

#include "crypto/crypto.hpp"
#include "storage/sql_support.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace redoubt::storage {
namespace {

recipient read_recipient(const row_ref& row) {
  using rc = recipient;
  return sql::read_columns(
      row, sql::col("id", &rc::user_id), sql::col("username", &rc::username),
      sql::col("email", &rc::email), sql::col("display_name", &rc::display_name),
      sql::col("disabled", &rc::disabled), sql::col("email_verified", &rc::email_verified),
      sql::col("email_undeliverable", &rc::undeliverable));
}

worker_repository::attachment_job_row read_attachment_job(const row_ref& row) {
  using job = worker_repository::attachment_job_row;
  auto a =
      sql::read_columns(row, sql::col("id", &job::id), sql::col("storage_name", &job::storage_name),
                        sql::col("content_type", &job::content_type), sql::col("size", &job::size),
                        sql::col("key_id", &job::key_id), sql::col("state", &job::state));
  if (auto raw = crypto::from_hex(row.text("wrapped_key"))) a.wrapped_key = std::move(*raw);
  return a;
}

}  // namespace

awaitable<result<std::optional<recipient>>> worker_repository::find_recipient(std::int64_t user_id) {
  REDOUBT_QUERY(r,
                "SELECT id, username, email, display_name, disabled, email_verified, email_undeliverable "
                "FROM users WHERE id = $1",
                params{p(user_id)});
  co_return sql::first_row(*r, read_recipient);
}

awaitable<result<bool>> worker_repository::is_processed(const std::string& job_id) {
  REDOUBT_QUERY(r, "SELECT 1 FROM processed_jobs WHERE job_id = $1::uuid", params{p(job_id)});
  co_return r->size() > 0;
}

awaitable<result<void>> worker_repository::create_email_token(const std::string& token_hash,
                                                              const std::string& purpose, std::int64_t user_id,
                                                              const std::string& job_id, std::int64_t ttl_seconds) {
  REDOUBT_QUERY(r,
                "INSERT INTO email_tokens (token_hash, purpose, user_id, job_id, expires_at) "
                "VALUES ($1, $2, $3, $4::uuid, now() + make_interval(secs => $5))",
                params{p(token_hash), p(purpose), p(user_id), p(job_id), p(ttl_seconds)});
  co_return result<void>{};
}

awaitable<result<void>> worker_repository::record_delivery(const delivery_record& d) {
  REDOUBT_QUERY(r,
                "INSERT INTO email_deliveries (job_id, user_id, recipient, kind, provider, provider_message_id, "
                "correlation_id) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id) DO NOTHING",
                params{p(d.job_id), p(d.user_id), p(d.recipient), p(d.kind), p(d.provider),
                       p(d.provider_message_id), p(d.correlation_id)});
  co_return result<void>{};
}

awaitable<result<void>> worker_repository::complete_job(const std::string& job_id, const std::string& kind,
                                                        const std::string& outcome,
                                                        const std::string& correlation_id) {
  REDOUBT_QUERY(r,
                "WITH done AS (INSERT INTO processed_jobs (job_id, kind, outcome, correlation_id) "
                "VALUES ($1::uuid, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING) "
                "UPDATE outbox SET completed_at = now() WHERE id = $1::uuid AND completed_at IS NULL",
                params{p(job_id), p(kind), p(outcome), p(correlation_id)});
  co_return result<void>{};
}

awaitable<result<std::vector<unread_summary>>> worker_repository::unread_for_notification(std::int64_t user_id) {
  REDOUBT_QUERY(r,
                "WITH st AS (SELECT coalesce((SELECT notified_through FROM notification_state WHERE user_id = $1), "
                "'-infinity'::timestamptz) AS t), "
                "cand AS (SELECT mn.message_id AS id FROM mentions mn WHERE mn.user_id = $1 "
                "UNION SELECT m.id FROM messages m JOIN rooms r ON r.id = m.room_id AND r.kind = 'direct' "
                "JOIN room_members me ON me.room_id = m.room_id AND me.user_id = $1 "
                "WHERE m.author_id <> $1 AND m.created_at > (SELECT t FROM st)) "
                "SELECT r.id, r.kind = 'direct' AS direct, CASE WHEN r.kind = 'direct' THEN coalesce((SELECT u.username "
                "FROM room_members o JOIN users u ON u.id = o.user_id WHERE o.room_id = r.id AND o.user_id <> $1 "
                "LIMIT 1), '') ELSE r.name END AS name, count(*) AS messages, max(m.created_at)::text AS newest "
                "FROM cand JOIN messages m ON m.id = cand.id "
                "JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $1 "
                "JOIN rooms r ON r.id = m.room_id "
                "WHERE m.seq > rm.last_read_seq AND m.deleted_at IS NULL AND m.created_at > (SELECT t FROM st) "
                "GROUP BY r.id, r.kind, r.name ORDER BY r.id",
                params{p(user_id)});
  co_return sql::all_rows(*r, [](const row_ref& row) {
    return unread_summary{row.int64("id"), row.boolean("direct"), row.text("name"),
                          row.int64("messages"), row.text("newest")};
  });
}

awaitable<result<std::int64_t>> worker_repository::apply_retention(int limit) {
  REDOUBT_QUERY(r, "SELECT apply_retention($1) AS erased", params{p(static_cast<std::int64_t>(limit))});
  co_return row_ref(*r, 0).int64("erased");
}

awaitable<result<void>> worker_repository::mark_notified(std::int64_t user_id, const std::string& through) {
  REDOUBT_QUERY(r,
                "INSERT INTO notification_state (user_id, notified_through) VALUES ($1, $2::timestamptz) "
                "ON CONFLICT (user_id) DO UPDATE SET notified_through = "
                "greatest(notification_state.notified_through, EXCLUDED.notified_through)",
                params{p(user_id), p(through)});
  co_return result<void>{};
}

awaitable<result<std::optional<worker_repository::attachment_job_row>>> worker_repository::attachment_for_job(
    std::int64_t id) {
  REDOUBT_QUERY(r,
                "SELECT id, storage_name, content_type, size, key_id, encode(wrapped_key, 'hex') AS wrapped_key, state "
                "FROM attachments WHERE id = $1 AND deleted_at IS NULL",
                params{p(id)});
  co_return sql::first_row(*r, read_attachment_job);
}

awaitable<result<void>> worker_repository::store_thumbnail(std::int64_t id, const std::string& sealed_png) {
  REDOUBT_QUERY(r, "UPDATE attachments SET thumbnail = decode($2, 'hex') WHERE id = $1 AND deleted_at IS NULL",
                params{p(id), p(crypto::to_hex(sealed_png))});
  co_return result<void>{};
}

awaitable<result<bool>> worker_repository::set_scan_result(std::int64_t id, const std::string& state) {
  REDOUBT_QUERY(r, "UPDATE attachments SET state = $2 WHERE id = $1 AND state = 'scanning'", params{p(id), p(state)});
  co_return r->affected() > 0;
}

awaitable<result<std::vector<std::string>>> worker_repository::attachments_gc(std::int64_t unattached_ttl_s) {
  REDOUBT_QUERY(r, "SELECT storage_name FROM attachments_gc($1)", params{p(unattached_ttl_s)});
  co_return sql::all_rows(*r, [](const row_ref& row) { return row.text("storage_name"); });
}

awaitable<result<bool>> worker_repository::attachment_exists(const std::string& storage_name) {
  REDOUBT_QUERY(r, "SELECT attachment_exists($1) AS present", params{p(storage_name)});
  co_return row_ref(*r, 0).boolean("present");
}

}  // namespace redoubt::storage
