#include "storage/audit_repository.hpp"

#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

audit::row read_row(const row_ref& r) {
  using a = audit::row;
  return sql::read_columns(r, sql::col("id", &a::id), sql::col("at", &a::at),
                           sql::col("actor_id", &a::actor_id), sql::col("actor", &a::actor),
                           sql::col("action", &a::action), sql::col("target", &a::target),
                           sql::col("ip", &a::ip), sql::col("request_id", &a::request_id),
                           sql::col("outcome", &a::outcome), sql::col("details", &a::details_json));
}
}  // namespace

awaitable<result<void>> audit_repository::append(const audit::entry& e) {
  REDOUBT_QUERY(r,
                "INSERT INTO audit_log (actor_id, action, target, ip, request_id, outcome, details) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                params{sql::p_opt(e.actor), p(e.action), p(e.target), p(e.ip), p(e.request_id), p(e.outcome),
                       p(e.details_json)});
  co_return result<void>{};
}

awaitable<result<std::vector<audit::row>>> audit_repository::page(std::int64_t before, int limit) {
  REDOUBT_QUERY(r, "SELECT * FROM audit_page($1, $2)", params{p(before), p(static_cast<std::int64_t>(limit))});
  co_return sql::all_rows(*r, read_row);
}

awaitable<result<audit::chain_state>> audit_repository::chain() {
  REDOUBT_QUERY(r, "SELECT checked, bad, first_bad_id FROM audit_chain_status()", {});
  const row_ref row(*r, 0);
  co_return audit::chain_state{row.int64("checked"), row.int64("bad"), row.opt_int64("first_bad_id")};
}

awaitable<result<std::optional<audit::head>>> audit_repository::newest_head() {
  REDOUBT_QUERY(r, "SELECT audit_id, audit_hash, signed_at FROM audit_head()", {});
  co_return sql::first_row(*r, [](const row_ref& row) {
    return audit::head{row.int64("audit_id"), row.text("audit_hash"), row.text("signed_at")};
  });
}

awaitable<result<std::optional<audit::stored_checkpoint>>> audit_repository::newest_checkpoint() {
  REDOUBT_QUERY(r, "SELECT audit_id, audit_hash, signed_at, key_id, signature, row_hash FROM audit_newest_checkpoint()",
                {});
  co_return sql::first_row(*r, [](const row_ref& row) {
    return audit::stored_checkpoint{row.int64("audit_id"), row.text("audit_hash"),
                                    row.text("signed_at"), row.text("key_id"),
                                    row.text("signature"), row.opt_text("row_hash")};
  });
}

awaitable<result<bool>> audit_repository::add_checkpoint(const audit::head& h, const std::string& key_id,
                                                         const std::string& signature_hex) {
  REDOUBT_QUERY(r, "SELECT add_audit_checkpoint($1, $2, $3, $4, $5) AS added",
                params{p(h.audit_id), p(h.audit_hash), p(h.signed_at), p(key_id), p(signature_hex)});
  co_return row_ref(*r, 0).boolean("added");
}

}  // namespace redoubt::storage
