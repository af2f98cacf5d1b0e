#include "storage/audit_checkpoints.hpp"

#include "audit/checkpoints.hpp"
#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace asio = boost::asio;
using audit::checkpoint_status;
using audit::stored_checkpoint;

asio::awaitable<result<checkpoint_report>> verify_audit_checkpoints(
    db::connection& conn, const std::map<std::string, std::string>& trusted) {
  auto r = co_await conn.query(
      "SELECT c.audit_id, c.audit_hash, c.signed_at, c.key_id, c.signature, a.hash AS row_hash "
      "FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.audit_id ORDER BY c.audit_id");
  if (!r) co_return r.error();
  checkpoint_report report;
  report.checkpoints = r->size();
  for (int i = 0; i < r->size(); ++i) {
    const sql::row_ref row(*r, i);
    const stored_checkpoint c{row.int64("audit_id"), row.text("audit_hash"), row.text("signed_at"),
                              row.text("key_id"),    row.text("signature"),  row.opt_text("row_hash")};
    const auto status = audit::check_checkpoint(c, trusted);
    if (status == checkpoint_status::unknown_key) {
      ++report.unchecked;
    } else if (status != checkpoint_status::ok) {
      report.problems.push_back("checkpoint of row " + std::to_string(c.audit_id) + " signed " +
                                c.signed_at + ": " + std::string(audit::describe(status)));
    } else {
      ++report.verified;
      report.newest_verified_id = c.audit_id;
      report.newest_verified_at = c.signed_at;
    }
  }
  if (report.newest_verified_id) {
    const db::params newest{std::to_string(*report.newest_verified_id)};
    auto after = co_await conn.query("SELECT count(*) AS newer FROM audit_log WHERE id > $1", newest);
    if (!after) co_return after.error();
    report.rows_after_newest = sql::row_ref(*after, 0).int64("newer");
  }
  co_return report;
}

}  // namespace redoubt::storage
