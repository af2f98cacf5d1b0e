#include "storage/audit_verify.hpp"

namespace redoubt::storage {

boost::asio::awaitable<result<audit_report>> verify_audit_chain(db::connection& conn) {
  // Must match the audit_chain() trigger in migrations/0001_initial.sql.
  const std::string sql =
      "WITH c AS (SELECT id, hash, prev_hash, lag(hash, 1, '') OVER (ORDER BY id) AS expected_prev, "
      "encode(sha256(convert_to(concat_ws('|', id, iso(at), actor_id, action, target, ip, request_id, "
      "outcome, details::text, prev_hash), 'UTF8')), 'hex') AS recomputed FROM audit_log) "
      "SELECT count(*), min(id) FILTER (WHERE hash <> recomputed OR prev_hash <> expected_prev), "
      "count(*) FILTER (WHERE hash <> recomputed OR prev_hash <> expected_prev) FROM c";
  auto r = co_await conn.query(sql);
  if (!r) co_return r.error();
  audit_report report;
  report.rows = r->int64(0, 0);
  if (!r->is_null(0, 1)) report.first_bad_id = r->int64(0, 1);
  report.bad_rows = r->int64(0, 2);
  co_return report;
}

}  // namespace redoubt::storage
