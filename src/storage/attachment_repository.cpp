#include "storage/attachment_repository.hpp"

#include "crypto/crypto.hpp"

namespace redoubt::storage {
namespace {

using db::param;
using db::params;

param p(std::int64_t v) { return std::to_string(v); }
param p(const std::string& v) { return v; }
param p(bool v) { return std::string(v ? "t" : "f"); }

std::string col(const db::rows& r, int row, int c) { return std::string(r.text(row, c)); }

std::string unhex(std::string_view hex) {
  auto raw = crypto::from_hex(hex);
  return raw ? std::move(*raw) : std::string();
}

}  // namespace

#define REDOUBT_QUERY(var, sql, ...)                                 \
  const std::string var##_sql = sql;                                 \
  const db::params var##_args = __VA_ARGS__;                         \
  auto lease_##var = co_await pool_->acquire();                      \
  if (!lease_##var) co_return lease_##var.error();                   \
  auto var = co_await (*lease_##var)->query(var##_sql, var##_args);  \
  if (!var) co_return var.error();

awaitable<result<std::int64_t>> attachment_repository::reserve_id() {
  REDOUBT_QUERY(r, "SELECT nextval('attachments_id_seq')", {});
  co_return r->int64(0, 0);
}

awaitable<result<std::pair<std::int64_t, std::int64_t>>> attachment_repository::usage_and_quota(
    std::int64_t user, std::int64_t default_quota) {
  REDOUBT_QUERY(r,
                "SELECT (SELECT coalesce(sum(size), 0) FROM attachments WHERE uploader_id = $1 AND deleted_at IS NULL), "
                "coalesce((SELECT storage_quota_bytes FROM users WHERE id = $1), $2)",
                params{p(user), p(default_quota)});
  co_return std::pair{r->int64(0, 0), r->int64(0, 1)};
}

awaitable<result<std::pair<insert_status, std::string>>> attachment_repository::insert(const new_attachment& a) {
  REDOUBT_QUERY(r,
                "SELECT status, attachment FROM attachment_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                "decode($11, 'hex'), decode($12, 'hex'), $13, $14, $15, $16, $17)",
                params{p(a.id), p(a.room), p(a.uploader), p(a.storage_name), p(a.filename), p(a.content_type),
                       p(a.size), p(a.sha256), p(a.created_us), p(a.key_id), p(crypto::to_hex(a.wrapped_key)),
                       p(crypto::to_hex(a.signature)), p(std::string(a.scan ? "scanning" : "ready")),
                       p(a.default_quota), p(a.correlation_id), p(a.thumbnail), p(a.scan)});
  auto status = r->text(0, 0);
  if (status == "not_member") co_return std::pair{insert_status::not_member, std::string()};
  if (status == "over_quota") co_return std::pair{insert_status::over_quota, std::string()};
  co_return std::pair{insert_status::ok, col(*r, 0, 1)};
}

awaitable<result<std::optional<attachment_row>>> attachment_repository::load(std::int64_t id, std::int64_t viewer,
                                                                             bool with_thumbnail) {
  REDOUBT_QUERY(r,
                "SELECT a.id, a.room_id, a.uploader_id, a.message_id, coalesce(m.deleted_at IS NOT NULL, false), "
                "a.storage_name, a.filename, a.content_type, a.sha256, a.key_id, encode(a.wrapped_key, 'hex'), "
                "encode(a.signature, 'hex'), a.state, "
                "CASE WHEN $3 THEN coalesce(encode(a.thumbnail, 'hex'), '') ELSE '' END, a.size, a.created_us, "
                "r.kind, coalesce(rm.role, 'none'), attachment_json(a)::text "
                "FROM attachments a JOIN rooms r ON r.id = a.room_id "
                "LEFT JOIN messages m ON m.id = a.message_id "
                "LEFT JOIN room_members rm ON rm.room_id = a.room_id AND rm.user_id = $2 "
                "WHERE a.id = $1 AND a.deleted_at IS NULL",
                params{p(id), p(viewer), p(with_thumbnail)});
  if (r->size() == 0) co_return std::optional<attachment_row>{};
  attachment_row a;
  a.id = r->int64(0, 0);
  a.room = r->int64(0, 1);
  a.uploader = r->int64(0, 2);
  if (!r->is_null(0, 3)) a.message_id = r->int64(0, 3);
  a.message_deleted = r->text(0, 4) == "t";
  a.storage_name = col(*r, 0, 5);
  a.filename = col(*r, 0, 6);
  a.content_type = col(*r, 0, 7);
  a.sha256 = col(*r, 0, 8);
  a.key_id = col(*r, 0, 9);
  a.wrapped_key = unhex(r->text(0, 10));
  a.signature = unhex(r->text(0, 11));
  a.state = col(*r, 0, 12);
  a.sealed_thumbnail = unhex(r->text(0, 13));
  a.size = r->int64(0, 14);
  a.created_us = r->int64(0, 15);
  a.room_kind = chat::room_kind_from(r->text(0, 16)).value_or(chat::room_kind::private_room);
  auto role = r->text(0, 17);
  a.viewer_role = role == "none" ? chat::room_role::none : chat::room_role_from(role).value_or(chat::room_role::none);
  a.json = col(*r, 0, 18);
  co_return std::optional<attachment_row>(std::move(a));
}

awaitable<result<bool>> attachment_repository::discard_unattached(std::int64_t id, std::int64_t uploader) {
  REDOUBT_QUERY(r,
                "UPDATE attachments SET deleted_at = now() WHERE id = $1 AND uploader_id = $2 "
                "AND message_id IS NULL AND deleted_at IS NULL",
                params{p(id), p(uploader)});
  co_return r->affected() > 0;
}

namespace {
constexpr const char* usage_columns =
    "u.id, u.username, coalesce(sum(a.size), 0), count(a.id), u.storage_quota_bytes "
    "FROM users u LEFT JOIN attachments a ON a.uploader_id = u.id AND a.deleted_at IS NULL ";

storage_usage read_usage(const db::rows& r, int i) {
  storage_usage u;
  u.user_id = r.int64(i, 0);
  u.username = col(r, i, 1);
  u.bytes = r.int64(i, 2);
  u.files = r.int64(i, 3);
  if (!r.is_null(i, 4)) u.quota_bytes = r.int64(i, 4);
  return u;
}
}  // namespace

awaitable<result<storage_usage>> attachment_repository::usage_of(std::int64_t user) {
  REDOUBT_QUERY(r, std::string("SELECT ") + usage_columns + "WHERE u.id = $1 GROUP BY u.id", params{p(user)});
  if (r->size() == 0) co_return make_error(errc::not_found, "user not found");
  co_return read_usage(*r, 0);
}

awaitable<result<std::vector<storage_usage>>> attachment_repository::usage_all() {
  REDOUBT_QUERY(r, std::string("SELECT ") + usage_columns + "GROUP BY u.id ORDER BY 3 DESC, u.id LIMIT 1000", {});
  std::vector<storage_usage> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_usage(*r, i));
  co_return out;
}

awaitable<result<bool>> attachment_repository::set_quota(std::int64_t user, std::optional<std::int64_t> quota) {
  const db::param q = quota ? p(*quota) : db::param{};
  REDOUBT_QUERY(r, "UPDATE users SET storage_quota_bytes = $2::bigint WHERE id = $1", params{p(user), q});
  co_return r->affected() > 0;
}

}  // namespace redoubt::storage
