#include "storage/room_repository.hpp"

#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

using chat::room_kind;
using chat::room_role;

constexpr std::string_view room_columns =
    "r.id, r.kind, r.name, r.topic, iso(r.created_at) AS created_at, r.last_seq, "
    "coalesce(m.role, 'none') AS my_role, coalesce(m.last_read_seq, 0) AS my_last_read_seq, "
    "(SELECT count(*) FROM room_members c WHERE c.room_id = r.id) AS member_count, "
    "CASE WHEN r.kind = 'direct' THEN (SELECT json_agg(d.user_id ORDER BY d.user_id) "
    "FROM room_members d WHERE d.room_id = r.id) END AS dm_members, "
    "coalesce(r.retention_days, 0) AS retention_days";

std::string select_rooms(std::string_view rest) { return "SELECT " + std::string(room_columns) + std::string(rest); }

chat::room read_room(const row_ref& r) {
  using rm = chat::room;
  auto out = sql::read_columns(
      r, sql::col("id", &rm::id), sql::col("name", &rm::name), sql::col("topic", &rm::topic),
      sql::col("created_at", &rm::created_at), sql::col("last_seq", &rm::last_seq),
      sql::col("my_last_read_seq", &rm::my_last_read_seq),
      sql::col("member_count", &rm::member_count), sql::col("dm_members", &rm::dm_members));
  out.kind = chat::room_kind_from(r.text("kind")).value_or(room_kind::public_room);
  out.my_role = chat::room_role_from(r.text("my_role")).value_or(room_role::none);
  out.retention_days = static_cast<int>(r.int64("retention_days"));
  return out;
}

std::optional<chat::seq_t> event_seq(const db::rows& r) {
  return sql::first_row(r, [](const row_ref& row) { return row.int64("seq"); });
}

}  // namespace

awaitable<result<chat::room>> room_repository::create_room(room_kind kind, const std::string& name,
                                                           const std::string& topic, chat::user_id creator) {
  REDOUBT_QUERY(r,
                "WITH r AS (INSERT INTO rooms (kind, name, topic, created_by) VALUES ($1, $2, $3, $4) "
                "RETURNING id), m AS (INSERT INTO room_members (room_id, user_id, role) "
                "SELECT id, $4, 'owner' FROM r) SELECT id FROM r",
                params{p(chat::to_string(kind)), p(name), p(topic), p(creator)});
  const auto id = row_ref(*r, 0).int64("id");
  auto room = co_await get_room(id, creator);
  if (!room) co_return room.error();
  if (!*room) co_return make_error(errc::internal, "room vanished");
  co_return std::move(**room);
}

awaitable<result<chat::room>> room_repository::open_direct(chat::user_id a, chat::user_id b) {
  const auto lo = std::min(a, b), hi = std::max(a, b);
  const auto key = std::to_string(lo) + ":" + std::to_string(hi);
  REDOUBT_QUERY(r,
                "WITH r AS (INSERT INTO rooms (kind, name, dm_key, created_by) VALUES ('direct', '', $1, $2) "
                "ON CONFLICT (dm_key) DO NOTHING RETURNING id), "
                "m AS (INSERT INTO room_members (room_id, user_id, role) SELECT r.id, u.id, 'member' "
                "FROM r, (VALUES ($3::bigint), ($4::bigint)) AS u(id) ON CONFLICT DO NOTHING) "
                "SELECT id FROM r UNION ALL SELECT id FROM rooms WHERE dm_key = $1",
                params{p(key), p(a), p(lo), p(hi)});
  if (r->size() == 0) co_return make_error(errc::conflict, "try again");
  auto room = co_await get_room(row_ref(*r, 0).int64("id"), a);
  if (!room) co_return room.error();
  if (!*room) co_return make_error(errc::conflict, "try again");
  co_return std::move(**room);
}

awaitable<result<void>> room_repository::set_retention(chat::room_id room, int days, chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH u AS (UPDATE rooms SET retention_days = nullif($2, 0) WHERE id = $1) "
                "INSERT INTO audit_log (actor_id, action, target, details) VALUES ($3, 'room.retention', "
                "'room:' || $1, jsonb_build_object('retention_days', $2))",
                params{p(room), p(static_cast<std::int64_t>(days)), p(actor)});
  co_return result<void>{};
}

awaitable<result<std::optional<chat::room>>> room_repository::get_room(chat::room_id room, chat::user_id viewer) {
  REDOUBT_QUERY(r,
                select_rooms(" FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2 "
                             "WHERE r.id = $1"),
                params{p(room), p(viewer)});
  co_return sql::first_row(*r, read_room);
}

awaitable<result<std::vector<chat::room>>> room_repository::rooms_of(chat::user_id user) {
  REDOUBT_QUERY(r,
                select_rooms(", (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.seq > m.last_read_seq "
                             "AND x.deleted_at IS NULL AND x.author_id <> $1) AS unread, "
                             "(SELECT count(*) FROM mentions mn JOIN messages x ON x.id = mn.message_id "
                             "WHERE mn.user_id = $1 AND x.room_id = r.id AND x.seq > m.last_read_seq "
                             "AND x.deleted_at IS NULL) AS mentions_unread "
                             "FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = $1 ORDER BY r.id"),
                params{p(user)});
  co_return sql::all_rows(*r, [](const row_ref& row) {
    auto room = read_room(row);
    room.unread = row.int64("unread");
    room.mentions_unread = row.int64("mentions_unread");
    return room;
  });
}

awaitable<result<std::vector<chat::room>>> room_repository::public_rooms(chat::user_id viewer) {
  REDOUBT_QUERY(r,
                select_rooms(" FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1 "
                             "WHERE r.kind = 'public' ORDER BY lower(r.name) LIMIT 1000"),
                params{p(viewer)});
  co_return sql::all_rows(*r, read_room);
}

awaitable<result<std::vector<chat::member>>> room_repository::members(chat::room_id room) {
  REDOUBT_QUERY(r,
                "SELECT u.id, u.username, u.display_name, m.role FROM room_members m "
                "JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY u.username LIMIT 10000",
                params{p(room)});
  co_return sql::all_rows(*r, [](const row_ref& row) {
    return chat::member{row.int64("id"), row.text("username"), row.text("display_name"),
                        chat::room_role_from(row.text("role")).value_or(room_role::member)};
  });
}

awaitable<result<room_role>> room_repository::role_of(chat::room_id room, chat::user_id user) {
  REDOUBT_QUERY(r, "SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2", params{p(room), p(user)});
  if (r->size() == 0) co_return room_role::none;
  co_return chat::room_role_from(row_ref(*r, 0).text("role")).value_or(room_role::none);
}

awaitable<result<std::optional<chat::seq_t>>> room_repository::add_member(chat::room_id room, chat::user_id user,
                                                                          room_role role, chat::user_id actor) {
  co_return co_await change_member(
      "WITH ins AS (INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3) "
      "ON CONFLICT DO NOTHING RETURNING room_id) "
      "SELECT room_event(room_id, 'member_joined', $4, jsonb_build_object('user_id', $2::bigint, "
      "'role', $3::text, 'username', (SELECT username FROM users WHERE id = $2))) AS seq FROM ins",
      room, user, role, actor);
}

awaitable<result<std::optional<chat::seq_t>>> room_repository::remove_member(chat::room_id room, chat::user_id user,
                                                                             chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH del AS (DELETE FROM room_members WHERE room_id = $1 AND user_id = $2 RETURNING room_id) "
                "SELECT room_event(room_id, 'member_left', $3, jsonb_build_object('user_id', $2::bigint)) AS seq "
                "FROM del",
                params{p(room), p(user), p(actor)});
  co_return event_seq(*r);
}

awaitable<result<std::optional<chat::seq_t>>> room_repository::set_role(chat::room_id room, chat::user_id user,
                                                                        room_role role, chat::user_id actor) {
  co_return co_await change_member(
      "WITH up AS (UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2 "
      "RETURNING room_id) "
      "SELECT room_event(room_id, 'role_changed', $4, jsonb_build_object('user_id', $2::bigint, "
      "'role', $3::text)) AS seq FROM up",
      room, user, role, actor);
}

awaitable<result<std::optional<chat::seq_t>>> room_repository::change_member(
    std::string_view sql_text, chat::room_id room, chat::user_id user, room_role role,
    chat::user_id actor) {
  REDOUBT_QUERY(r, sql_text, params{p(room), p(user), p(chat::to_string(role)), p(actor)});
  co_return event_seq(*r);
}

awaitable<result<std::int64_t>> room_repository::owner_count(chat::room_id room) {
  REDOUBT_QUERY(r, "SELECT count(*) AS owners FROM room_members WHERE room_id = $1 AND role = 'owner'",
                params{p(room)});
  co_return row_ref(*r, 0).int64("owners");
}

awaitable<result<chat::seq_t>> room_repository::set_topic(chat::room_id room, const std::string& topic,
                                                          chat::user_id actor) {
  REDOUBT_QUERY(r, "SELECT set_topic($1, $2, $3) AS seq", params{p(room), p(topic), p(actor)});
  co_return row_ref(*r, 0).int64("seq");
}

awaitable<result<void>> room_repository::set_read(chat::room_id room, chat::user_id user, chat::seq_t seq) {
  REDOUBT_QUERY(r,
                "UPDATE room_members m SET last_read_seq = LEAST($3, r.last_seq) FROM rooms r "
                "WHERE m.room_id = $1 AND m.user_id = $2 AND r.id = m.room_id AND m.last_read_seq < $3",
                params{p(room), p(user), p(seq)});
  co_return result<void>{};
}

awaitable<result<std::optional<chat::user>>> room_repository::find_user(const std::string& username) {
  REDOUBT_QUERY(r, "SELECT " + std::string(sql::user_columns) + " FROM users u WHERE u.username = $1",
                params{p(username)});
  co_return sql::first_row(*r, sql::read_user);
}

}  // namespace redoubt::storage
