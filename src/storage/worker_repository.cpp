#include "storage/worker_repository.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace redoubt::storage {
namespace {

using db::param;
using db::params;

param p(std::int64_t v) { return std::to_string(v); }
param p(const std::string& v) { return v; }

}  // namespace

#define REDOUBT_QUERY(var, sql, ...)                                 \
  const std::string var##_sql = sql;                                 \
  const db::params var##_args = __VA_ARGS__;                         \
  auto lease_##var = co_await pool_->acquire();                      \
  if (!lease_##var) co_return lease_##var.error();                   \
  auto var = co_await (*lease_##var)->query(var##_sql, var##_args);  \
  if (!var) co_return var.error();

awaitable<result<std::optional<recipient>>> worker_repository::find_recipient(std::int64_t user_id) {
  REDOUBT_QUERY(r,
                "SELECT id, username, email, display_name, disabled, email_verified, email_undeliverable "
                "FROM users WHERE id = $1",
                params{p(user_id)});
  if (r->size() == 0) co_return std::optional<recipient>{};
  recipient out{r->int64(0, 0),           std::string(r->text(0, 1)), std::string(r->text(0, 2)),
                std::string(r->text(0, 3)), r->boolean(0, 4),          r->boolean(0, 5),
                r->boolean(0, 6)};
  co_return std::optional<recipient>(std::move(out));
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

}  // namespace redoubt::storage
