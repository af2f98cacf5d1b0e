#include "storage/attachment_repository.hpp"

#include "crypto/crypto.hpp"
#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

using chat::attachment_row;
using chat::insert_status;
using chat::storage_usage;

std::string unhex(std::string_view hex) {
  auto raw = crypto::from_hex(hex);
  return raw ? std::move(*raw) : std::string();
}

attachment_row read_attachment(const row_ref& r) {
  using at = attachment_row;
  auto a = sql::read_columns(
      r, sql::col("id", &at::id), sql::col("room_id", &at::room),
      sql::col("uploader_id", &at::uploader), sql::col("message_id", &at::message_id),
      sql::col("message_deleted", &at::message_deleted),
      sql::col("storage_name", &at::storage_name), sql::col("filename", &at::filename),
      sql::col("content_type", &at::content_type), sql::col("sha256", &at::sha256),
      sql::col("key_id", &at::key_id), sql::col("state", &at::state), sql::col("size", &at::size),
      sql::col("created_us", &at::created_us), sql::col("json", &at::json));
  a.wrapped_key = unhex(r.text("wrapped_key"));
  a.signature = unhex(r.text("signature"));
  a.sealed_thumbnail = unhex(r.text("thumbnail"));
  a.room_kind = chat::room_kind_from(r.text("room_kind")).value_or(chat::room_kind::private_room);
  a.viewer_role = chat::room_role_from(r.text("viewer_role")).value_or(chat::room_role::none);
  return a;
}

}  // namespace

awaitable<result<std::int64_t>> attachment_repository::reserve_id() {
  REDOUBT_QUERY(r, "SELECT nextval('attachments_id_seq') AS id", {});
  co_return row_ref(*r, 0).int64("id");
}

awaitable<result<std::pair<std::int64_t, std::int64_t>>> attachment_repository::usage_and_quota(
    std::int64_t user, std::int64_t default_quota) {
  REDOUBT_QUERY(r,
                "SELECT (SELECT coalesce(sum(size), 0) FROM attachments WHERE uploader_id = $1 AND deleted_at IS NULL) "
                "AS used, coalesce((SELECT storage_quota_bytes FROM users WHERE id = $1), $2) AS quota",
                params{p(user), p(default_quota)});
  const row_ref row(*r, 0);
  co_return std::pair{row.int64("used"), row.int64("quota")};
}

awaitable<result<std::pair<insert_status, std::string>>> attachment_repository::insert(const chat::new_attachment& a) {
  REDOUBT_QUERY(r,
                "SELECT status, attachment FROM attachment_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                "decode($11, 'hex'), decode($12, 'hex'), $13, $14, $15, $16, $17)",
                params{p(a.id), p(a.room), p(a.uploader), p(a.storage_name), p(a.filename), p(a.content_type),
                       p(a.size), p(a.sha256), p(a.created_us), p(a.key_id), p(crypto::to_hex(a.wrapped_key)),
                       p(crypto::to_hex(a.signature)), p(std::string(a.scan ? "scanning" : "ready")),
                       p(a.default_quota), p(a.correlation_id), p(a.thumbnail), p(a.scan)});
  const row_ref row(*r, 0);
  const auto status = row.text("status");
  if (status == "not_member") co_return std::pair{insert_status::not_member, std::string()};
  if (status == "over_quota") co_return std::pair{insert_status::over_quota, std::string()};
  co_return std::pair{insert_status::ok, row.text("attachment")};
}

awaitable<result<std::optional<attachment_row>>> attachment_repository::load(std::int64_t id, std::int64_t viewer,
                                                                             bool with_thumbnail) {
  REDOUBT_QUERY(r,
                "SELECT a.id, a.room_id, a.uploader_id, a.message_id, "
                "coalesce(m.deleted_at IS NOT NULL, false) AS message_deleted, "
                "a.storage_name, a.filename, a.content_type, a.sha256, a.key_id, "
                "encode(a.wrapped_key, 'hex') AS wrapped_key, encode(a.signature, 'hex') AS signature, a.state, "
                "CASE WHEN $3 THEN coalesce(encode(a.thumbnail, 'hex'), '') ELSE '' END AS thumbnail, a.size, "
                "a.created_us, r.kind AS room_kind, coalesce(rm.role, 'none') AS viewer_role, "
                "attachment_json(a)::text AS json "
                "FROM attachments a JOIN rooms r ON r.id = a.room_id "
                "LEFT JOIN messages m ON m.id = a.message_id "
                "LEFT JOIN room_members rm ON rm.room_id = a.room_id AND rm.user_id = $2 "
                "WHERE a.id = $1 AND a.deleted_at IS NULL",
                params{p(id), p(viewer), p(with_thumbnail)});
  co_return sql::first_row(*r, read_attachment);
}

awaitable<result<bool>> attachment_repository::discard_unattached(std::int64_t id, std::int64_t uploader) {
  REDOUBT_QUERY(r,
                "UPDATE attachments SET deleted_at = now() WHERE id = $1 AND uploader_id = $2 "
                "AND message_id IS NULL AND deleted_at IS NULL",
                params{p(id), p(uploader)});
  co_return r->affected() > 0;
}

namespace {
constexpr std::string_view usage_columns =
    "u.id, u.username, coalesce(sum(a.size), 0) AS bytes, count(a.id) AS files, u.storage_quota_bytes "
    "FROM users u LEFT JOIN attachments a ON a.uploader_id = u.id AND a.deleted_at IS NULL ";

storage_usage read_usage(const row_ref& r) {
  return storage_usage{r.int64("id"), r.text("username"), r.int64("bytes"), r.int64("files"),
                       r.opt_int64("storage_quota_bytes")};
}
}  // namespace

awaitable<result<storage_usage>> attachment_repository::usage_of(std::int64_t user) {
  REDOUBT_QUERY(r, "SELECT " + std::string(usage_columns) + "WHERE u.id = $1 GROUP BY u.id", params{p(user)});
  if (r->size() == 0) co_return make_error(errc::not_found, "user not found");
  co_return read_usage(row_ref(*r, 0));
}

awaitable<result<std::vector<storage_usage>>> attachment_repository::usage_all() {
  REDOUBT_QUERY(r, "SELECT " + std::string(usage_columns) + "GROUP BY u.id ORDER BY 3 DESC, u.id LIMIT 1000", {});
  co_return sql::all_rows(*r, read_usage);
}

awaitable<result<bool>> attachment_repository::set_quota(std::int64_t user, std::optional<std::int64_t> quota) {
  REDOUBT_QUERY(r, "UPDATE users SET storage_quota_bytes = $2::bigint WHERE id = $1", params{p(user), sql::p_opt(quota)});
  co_return r->affected() > 0;
}

}  // namespace redoubt::storage
