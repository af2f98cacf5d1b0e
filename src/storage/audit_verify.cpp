#include "storage/audit_verify.hpp"

namespace redoubt::storage {

boost::asio::awaitable<result<audit_report>> verify_audit_chain(db::connection& conn) {
  // The check lives in the database (audit_chain_status() in migrations/0006_admin.sql) so
  // that this command and the administration page run the very same computation.
  const std::string sql = "SELECT checked, first_bad_id, bad FROM audit_chain_status()";
  auto r = co_await conn.query(sql);
  if (!r) co_return r.error();
  audit_report report;
  report.rows = r->int64(0, 0);
  if (!r->is_null(0, 1)) report.first_bad_id = r->int64(0, 1);
  report.bad_rows = r->int64(0, 2);
  co_return report;
}

}  // namespace redoubt::storage
