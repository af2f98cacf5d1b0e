#include "storage/sql_support.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace redoubt::storage::sql {
namespace json = boost::json;

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

template <class T, class Append>
db::param array_literal(const std::vector<T>& items, Append append) {
  std::string a = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) a.push_back(',');
    append(a, items[i]);
  }
  a.push_back('}');
  return a;
}

json::array json_array_column(std::string_view text) {
  if (text.empty()) return {};
  auto v = json::parse(text);  // the database wrote it: a parse error is a bug, and throws
  if (!v.is_array()) throw std::logic_error("db: column is not a JSON array");
  return std::move(v.as_array());
}

}  // namespace

db::param text_array(const std::vector<std::string>& items) {
  return array_literal(items, [](std::string& a, const std::string& s) { append_quoted(a, s); });
}

db::param int64_array(const std::vector<std::int64_t>& items) {
  return array_literal(items, [](std::string& a, std::int64_t v) { a += std::to_string(v); });
}

db::param int64_array(const std::vector<std::optional<std::int64_t>>& items) {
  return array_literal(items, [](std::string& a, const std::optional<std::int64_t>& v) {
    a += v ? std::to_string(*v) : std::string("NULL");
  });
}

int row_ref::column(std::string_view name) const {
  const int c = rows_.column(name);
  if (c < 0) throw std::logic_error("db: no column " + std::string(name));
  return c;
}

std::string row_ref::text(std::string_view name) const { return std::string(rows_.text(row_, column(name))); }

std::optional<std::string> row_ref::opt_text(std::string_view name) const {
  const int c = column(name);
  if (rows_.is_null(row_, c)) return std::nullopt;
  return std::string(rows_.text(row_, c));
}

std::int64_t row_ref::int64(std::string_view name) const { return rows_.int64(row_, column(name)); }

std::optional<std::int64_t> row_ref::opt_int64(std::string_view name) const {
  const int c = column(name);
  if (rows_.is_null(row_, c)) return std::nullopt;
  return rows_.int64(row_, c);
}

bool row_ref::boolean(std::string_view name) const { return rows_.boolean(row_, column(name)); }

std::vector<std::string> row_ref::string_list(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& v : json_array_column(rows_.text(row_, column(name)))) out.emplace_back(v.as_string());
  return out;
}

std::vector<std::int64_t> row_ref::int64_list(std::string_view name) const {
  std::vector<std::int64_t> out;
  for (const auto& v : json_array_column(rows_.text(row_, column(name)))) out.push_back(v.to_number<std::int64_t>());
  return out;
}

chat::user read_user(const row_ref& r) {
  using u = chat::user;
  return read_columns(r, col("user_id", &u::id), col("username", &u::username),
                      col("email", &u::email), col("display_name", &u::display_name),
                      col("is_admin", &u::is_admin), col("disabled", &u::disabled),
                      col("user_created_at", &u::created_at),
                      col("email_verified", &u::email_verified));
}

// Mentions and reactions come as JSON arrays: names and emoji may hold any character.
const std::string message_columns =
    "x.id, x.room_id, x.seq, x.author_id, u.username AS author_username, x.client_id, x.body, x.reply_to, "
    "iso(x.created_at) AS created_at, iso(x.edited_at) AS edited_at, x.deleted_at IS NOT NULL AS deleted, "
    "(SELECT json_agg(mu.username ORDER BY mu.username) FROM mentions mn "
    "JOIN users mu ON mu.id = mn.user_id WHERE mn.message_id = x.id) AS mentions, "
    "(SELECT json_agg(json_build_array(rc.emoji, rc.user_id) ORDER BY rc.created_at, rc.user_id) "
    "FROM reactions rc WHERE rc.message_id = x.id) AS reactions, "
    "CASE WHEN x.deleted_at IS NULL THEN message_attachments(x.id) ELSE '[]' END AS attachments";

chat::message read_message(const row_ref& r) {
  using msg = chat::message;
  auto m =
      read_columns(r, col("id", &msg::id), col("room_id", &msg::room), col("seq", &msg::seq),
                   col("author_id", &msg::author), col("author_username", &msg::author_username),
                   col("client_id", &msg::client_id), col("body", &msg::body),
                   col("reply_to", &msg::reply_to), col("created_at", &msg::created_at),
                   col("edited_at", &msg::edited_at), col("deleted", &msg::deleted),
                   col("mentions", &msg::mentions), col("attachments", &msg::attachments_json));
  if (auto reactions = r.opt_text("reactions")) {
    for (const auto& pair : json_array_column(*reactions)) {
      const auto& item = pair.as_array();
      const std::string emoji(item.at(0).as_string());
      const auto user = item.at(1).to_number<std::int64_t>();
      auto it = std::find_if(m.reactions.begin(), m.reactions.end(),
                             [&](const chat::reaction_count& rc) { return rc.emoji == emoji; });
      if (it == m.reactions.end()) {
        m.reactions.push_back({emoji, {user}});
      } else {
        it->users.push_back(user);
      }
    }
  }
  return m;
}

chat::room_event read_room_event(const row_ref& r) {
  using ev = chat::room_event;
  return read_columns(r, col("room_id", &ev::room), col("seq", &ev::seq), col("kind", &ev::kind),
                      col("actor_id", &ev::actor), col("data", &ev::payload_json),
                      col("created_at", &ev::created_at));
}

}  // namespace redoubt::storage::sql
