// Shared by the repositories in storage/ only: query parameters, rows read by column name,
// arrays encoded in one place, and the acquire-and-query step. Not for use outside storage/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/pg.hpp"
#include "model/model.hpp"

namespace redoubt::storage::sql {

inline db::param p(std::int64_t v) { return std::to_string(v); }
inline db::param p(const std::string& v) { return v; }
inline db::param p(std::string_view v) { return std::string(v); }
inline db::param p(bool v) { return std::string(v ? "t" : "f"); }
inline db::param p_opt(const std::optional<std::int64_t>& v) { return v ? p(*v) : std::nullopt; }
inline db::param p_opt(const std::optional<bool>& v) { return v ? p(*v) : std::nullopt; }

// PostgreSQL array parameters (text format), encoded here and nowhere else: every element
// quoted and escaped, NULL for an empty optional. Bind with an explicit cast ($1::text[]).
db::param text_array(const std::vector<std::string>& items);
db::param int64_array(const std::vector<std::int64_t>& items);
db::param int64_array(const std::vector<std::optional<std::int64_t>>& items);

// One row, its columns found by name. A missing column or a non-integer in an integer
// column is a programming error: it throws ("can't happen", caught at the coroutine root).
class row_ref {
 public:
  row_ref(const db::rows& rows, int row) : rows_(rows), row_(row) {}

  std::string text(std::string_view name) const;
  std::optional<std::string> opt_text(std::string_view name) const;
  std::int64_t int64(std::string_view name) const;
  std::optional<std::int64_t> opt_int64(std::string_view name) const;
  bool boolean(std::string_view name) const;
  // A JSON array column of strings / integers (json_agg), [] for NULL.
  std::vector<std::string> string_list(std::string_view name) const;
  std::vector<std::int64_t> int64_list(std::string_view name) const;

 private:
  int column(std::string_view name) const;
  const db::rows& rows_;
  int row_;
};

// The domain values the repositories share, read from the column lists below.
chat::user read_user(const row_ref& r);
chat::message read_message(const row_ref& r);
chat::room_event read_room_event(const row_ref& r);

// Select lists that go with the readers above (tables aliased u, x).
inline constexpr std::string_view user_columns =
    "u.id AS user_id, u.username, u.email, u.display_name, u.is_admin, u.disabled, "
    "iso(u.created_at) AS user_created_at, u.email_verified";
extern const std::string message_columns;
inline constexpr std::string_view room_event_columns =
    "room_id, seq, kind, actor_id, data::text AS data, iso(created_at) AS created_at";

}  // namespace redoubt::storage::sql

// Acquire a pooled connection and run one query; a failure returns from the coroutine.
// (SQL and arguments go into locals first: GCC 12 miscompiles some temporaries in co_await.)
#define REDOUBT_QUERY(var, sql_text, ...)                                \
  const std::string var##_sql{sql_text};                                 \
  const ::redoubt::db::params var##_args = __VA_ARGS__;                  \
  auto lease_##var = co_await pool_->acquire();                          \
  if (!lease_##var) co_return lease_##var.error();                       \
  auto var = co_await (*lease_##var)->query(var##_sql, var##_args);      \
  if (!var) co_return var.error();
