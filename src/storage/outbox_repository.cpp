#include "storage/outbox_repository.hpp"

#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

awaitable<result<db::rows>> query_once(db::pool& pool, const std::string& sql_text) {
  auto lease = co_await pool.acquire();
  if (!lease) co_return lease.error();
  co_return co_await (*lease)->query(sql_text, {});
}
}  // namespace

awaitable<result<std::vector<outbox_job>>> outbox_repository::claim(int limit, std::int64_t claim_seconds,
                                                                    std::int64_t republish_after_seconds) {
  // SKIP LOCKED: several server nodes relay side by side without publishing a row twice at once.
  REDOUBT_QUERY(r,
                "UPDATE outbox o SET claimed_until = now() + make_interval(secs => $2) WHERE o.id IN ("
                "SELECT id FROM outbox WHERE completed_at IS NULL AND expires_at > now() AND not_before <= now() "
                "AND (claimed_until IS NULL OR claimed_until < now()) "
                "AND (published_at IS NULL OR published_at < now() - make_interval(secs => $3)) "
                "ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING o.id, o.kind, o.payload::text AS payload, o.correlation_id, "
                "extract(epoch FROM o.created_at)::bigint AS created_at, "
                "extract(epoch FROM o.expires_at)::bigint AS expires_at",
                params{p(static_cast<std::int64_t>(limit)), p(claim_seconds), p(republish_after_seconds)});
  std::vector<outbox_job> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    const row_ref row(*r, i);
    out.push_back(outbox_job{row.text("id"), row.text("kind"), row.text("payload"), row.text("correlation_id"),
                             row.int64("created_at"), row.int64("expires_at")});
  }
  co_return out;
}

awaitable<result<void>> outbox_repository::finish_claims(const std::vector<std::string>& published,
                                                         const std::vector<std::string>& released) {
  REDOUBT_QUERY(r,
                "UPDATE outbox SET claimed_until = NULL, "
                "published_at = CASE WHEN id = ANY($1::uuid[]) THEN now() ELSE published_at END, "
                "publish_count = publish_count + CASE WHEN id = ANY($1::uuid[]) THEN 1 ELSE 0 END "
                "WHERE id = ANY($1::uuid[]) OR id = ANY($2::uuid[])",
                params{sql::text_array(published), sql::text_array(released)});
  co_return result<void>{};
}

awaitable<result<outbox_counts>> outbox_repository::counts() {
  REDOUBT_QUERY(r,
                "SELECT count(*) FILTER (WHERE published_at IS NULL) AS unpublished, count(*) AS incomplete, "
                "COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL))::bigint, 0) "
                "AS oldest_unpublished_seconds "
                "FROM outbox WHERE completed_at IS NULL AND expires_at > now()",
                {});
  const row_ref row(*r, 0);
  co_return outbox_counts{row.int64("unpublished"), row.int64("incomplete"), row.int64("oldest_unpublished_seconds")};
}

awaitable<result<bool>> outbox_repository::enqueue_files_maintenance_job() {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT 'files_maintenance', '{}', 'files_maintenance', now() + interval '1 hour' "
                "WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE kind = 'files_maintenance' AND completed_at IS NULL "
                "AND expires_at > now())",
                {});
  co_return r->affected() > 0;
}

awaitable<result<bool>> outbox_repository::enqueue_retention_job() {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT 'retention', '{}', 'retention', now() + interval '1 hour' "
                "WHERE EXISTS (SELECT 1 FROM rooms WHERE retention_days IS NOT NULL) "
                "AND NOT EXISTS (SELECT 1 FROM outbox WHERE kind = 'retention' AND completed_at IS NULL "
                "AND expires_at > now())",
                {});
  co_return r->affected() > 0;
}

awaitable<result<int>> schema_version(db::pool& pool) {
  auto r = co_await query_once(pool, "SELECT coalesce(max(version), 0) AS version FROM schema_migrations");
  if (!r) co_return r.error();
  co_return static_cast<int>(row_ref(*r, 0).int64("version"));
}

awaitable<result<void>> ping(db::pool& pool) {
  auto r = co_await query_once(pool, "SELECT 1");
  if (!r) co_return r.error();
  co_return result<void>{};
}

}  // namespace redoubt::storage
