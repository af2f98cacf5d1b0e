// Shared by the repositories in storage/ only: query parameters, rows read by column name,
// arrays encoded in one place, and the acquire-and-query step. Not for use outside storage/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
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

  // The column read as V: one of the types above.
  template <class V>
  V as(std::string_view name) const {
    if constexpr (std::is_same_v<V, std::string>)
      return text(name);
    else if constexpr (std::is_same_v<V, std::optional<std::string>>)
      return opt_text(name);
    else if constexpr (std::is_same_v<V, std::optional<std::int64_t>>)
      return opt_int64(name);
    else if constexpr (std::is_same_v<V, bool>)
      return boolean(name);
    else if constexpr (std::is_same_v<V, std::vector<std::string>>)
      return string_list(name);
    else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>)
      return int64_list(name);
    else {
      static_assert(std::is_same_v<V, std::int64_t>, "no reader for this member type");
      return int64(name);
    }
  }

 private:
  int column(std::string_view name) const;
  const db::rows& rows_;
  int row_;
};

// One column of a row and the member of T it is read into, as the member's type says.
template <class T, class V>
struct column_to {
  std::string_view column;
  V T::*member;
};
template <class T, class V>
constexpr column_to<T, V> col(std::string_view column, V T::*member) {
  return column_to<T, V>{column, member};
}

// A T with the given members read from the row; the others keep their defaults.
template <class T, class... V>
T read_columns(const row_ref& r, const column_to<T, V>&... columns) {
  T out;
  ((out.*columns.member = r.as<V>(columns.column)), ...);
  return out;
}

// The first row read with `read`; nullopt when there is none.
template <class Read>
auto first_row(const db::rows& rows, Read read) -> std::optional<decltype(read(row_ref(rows, 0)))> {
  if (rows.size() == 0) return std::nullopt;
  return read(row_ref(rows, 0));
}

// Every row read with `read`, in order.
template <class Read>
auto all_rows(const db::rows& rows, Read read) -> std::vector<decltype(read(row_ref(rows, 0)))> {
  std::vector<decltype(read(row_ref(rows, 0)))> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read(row_ref(rows, i)));
  return out;
}

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

namespace redoubt::storage {
// The names every repository's .cpp file uses unqualified (this header is theirs alone).
using db::params;
using sql::p;
using sql::row_ref;
}  // namespace redoubt::storage

// Acquire a pooled connection and run one query; a failure returns from the coroutine.
// (SQL and arguments go into locals first: GCC 12 miscompiles some temporaries in co_await.)
#define REDOUBT_QUERY(var, sql_text, ...)                                \
  const std::string var##_sql{sql_text};                                 \
  const ::redoubt::db::params var##_args = __VA_ARGS__;                  \
  auto lease_##var = co_await pool_->acquire();                          \
  if (!lease_##var) co_return lease_##var.error();                       \
  auto var = co_await (*lease_##var)->query(var##_sql, var##_args);      \
  if (!var) co_return var.error();
