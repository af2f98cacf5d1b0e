#include "storage/message_repository.hpp"

#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

std::string space_joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

std::string space_joined(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out.push_back(' ');
    out += std::to_string(id);
  }
  return out;
}

// post_batch() in the schema takes the batch column by column; a message's mentions and
// attachment ids are one space-separated element each (names and ids hold no spaces).
params post_batch_params(const std::vector<chat::post_request>& posts) {
  std::vector<std::int64_t> rooms, authors;
  std::vector<std::string> client_ids, bodies, mentions, files;
  std::vector<std::optional<std::int64_t>> replies;
  for (const auto& m : posts) {
    rooms.push_back(m.room);
    authors.push_back(m.author);
    client_ids.push_back(m.client_id);
    bodies.push_back(m.body);
    replies.push_back(m.reply_to);
    mentions.push_back(space_joined(m.mentions));
    files.push_back(space_joined(m.attachments));
  }
  return params{sql::int64_array(rooms),      sql::int64_array(authors), sql::text_array(client_ids),
                sql::text_array(bodies),      sql::int64_array(replies), sql::text_array(mentions),
                sql::text_array(files)};
}

chat::post_status post_status_from(std::string_view s) {
  if (s == "ok") return chat::post_status::ok;
  if (s == "duplicate") return chat::post_status::duplicate;
  if (s == "not_member") return chat::post_status::not_member;
  if (s == "bad_reply") return chat::post_status::bad_reply;
  if (s == "bad_attachment") return chat::post_status::bad_attachment;
  return chat::post_status::client_id_reused;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

chat::post_outcome read_post_outcome(const row_ref& r) {
  chat::post_outcome o;
  o.status = post_status_from(r.text("status"));
  if (auto id = r.opt_int64("message_id")) {
    o.id = *id;
    o.seq = r.int64("seq");
    o.created_at = r.text("created_at");
  }
  o.mentioned = split_words(r.text("mentioned"));
  o.attachments_json = r.text("attachments");
  return o;
}

std::optional<chat::message_change> change_of(const db::rows& r) {
  if (r.size() == 0) return std::nullopt;
  const row_ref row(r, 0);
  chat::message_change c{row.int64("room_id"), row.int64("seq"), {}};
  if (r.column("edited_at") >= 0) c.edited_at = row.text("edited_at");
  return c;
}

}  // namespace

awaitable<result<std::vector<chat::post_outcome>>> message_repository::post_batch(
    const std::vector<chat::post_request>& posts) {
  // One statement, one transaction, one round trip for the whole batch.
  REDOUBT_QUERY(r,
                "SELECT ord, status, message_id, seq, created_at, mentioned, attachments FROM "
                "post_batch($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
                "$7::text[])",
                post_batch_params(posts));
  if (static_cast<std::size_t>(r->size()) != posts.size())
    co_return make_error(errc::internal, "post_batch returned a short result");
  co_return sql::all_rows(*r, read_post_outcome);
}

awaitable<result<std::optional<chat::message>>> message_repository::get_message(chat::message_id id) {
  REDOUBT_QUERY(r,
                "SELECT " + sql::message_columns + " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.id = $1",
                params{p(id)});
  co_return sql::first_row(*r, sql::read_message);
}

awaitable<result<std::optional<chat::message_change>>> message_repository::edit_message(chat::message_id id,
                                                                                      const std::string& body,
                                                                                      chat::user_id actor) {
  REDOUBT_QUERY(r, "SELECT room_id, seq, edited_at FROM edit_message($1, $2, $3)", params{p(id), p(body), p(actor)});
  co_return change_of(*r);
}

awaitable<result<std::optional<chat::message_change>>> message_repository::delete_message(chat::message_id id,
                                                                                        chat::user_id actor) {
  REDOUBT_QUERY(r, "SELECT room_id, seq FROM delete_message($1, $2)", params{p(id), p(actor)});
  co_return change_of(*r);
}

awaitable<result<std::optional<chat::message_change>>> message_repository::set_reaction(chat::message_id id,
                                                                                      chat::user_id user,
                                                                                      const std::string& emoji,
                                                                                      bool add) {
  REDOUBT_QUERY(r, "SELECT room_id, seq FROM set_reaction($1, $2, $3, $4)", params{p(id), p(user), p(emoji), p(add)});
  co_return change_of(*r);
}

awaitable<result<std::vector<chat::message>>> message_repository::history(chat::room_id room, chat::seq_t before,
                                                                          int limit) {
  REDOUBT_QUERY(r,
                "SELECT " + sql::message_columns +
                    " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.room_id = $1 AND "
                    "($2 = 0 OR x.seq < $2) ORDER BY x.seq DESC LIMIT $3",
                params{p(room), p(before), p(static_cast<std::int64_t>(limit))});
  co_return sql::all_rows(*r, sql::read_message);
}

awaitable<result<std::vector<chat::replay_item>>> message_repository::replay(chat::room_id room, chat::seq_t after,
                                                                             int limit) {
  // Seqs are gapless across messages and room_events, so the range (after, after+limit]
  // holds at most `limit` items; both reads see one snapshot.
  const params range{p(room), p(after), p(static_cast<std::int64_t>(limit))};
  const std::string msg_sql = "SELECT " + sql::message_columns +
                              " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.room_id = $1 "
                              "AND x.seq > $2 AND x.seq <= $2 + $3 ORDER BY x.seq";
  const std::string event_sql = "SELECT " + std::string(sql::room_event_columns) +
                                " FROM room_events WHERE room_id = $1 AND seq > $2 AND seq <= $2 + $3 ORDER BY seq";
  std::vector<db::statement> stmts;
  stmts.push_back({"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  stmts.push_back({msg_sql, range});
  stmts.push_back({event_sql, range});
  stmts.push_back({"COMMIT", {}});
  auto lease = co_await pool_->acquire();
  if (!lease) co_return lease.error();
  auto res = co_await (*lease)->pipeline(stmts);
  if (!res) co_return res.error();
  const auto& msgs = (*res)[1];
  const auto& evs = (*res)[2];
  std::vector<chat::replay_item> out;
  out.reserve(static_cast<std::size_t>(msgs.size() + evs.size()));
  int i = 0, j = 0;
  while (i < msgs.size() || j < evs.size()) {
    const bool take_msg =
        j >= evs.size() || (i < msgs.size() && row_ref(msgs, i).int64("seq") < row_ref(evs, j).int64("seq"));
    if (take_msg) {
      out.emplace_back(sql::read_message(row_ref(msgs, i++)));
    } else {
      out.emplace_back(sql::read_room_event(row_ref(evs, j++)));
    }
  }
  co_return out;
}

awaitable<result<std::optional<chat::room_event>>> message_repository::event_at(chat::room_id room, chat::seq_t seq) {
  REDOUBT_QUERY(r, "SELECT " + std::string(sql::room_event_columns) + " FROM room_events WHERE room_id = $1 AND seq = $2",
                params{p(room), p(seq)});
  co_return sql::first_row(*r, sql::read_room_event);
}

}  // namespace redoubt::storage
