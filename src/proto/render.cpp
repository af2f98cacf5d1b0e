#include "proto/render.hpp"

#include <boost/json.hpp>

#include "proto/json_util.hpp"
#include "proto/room_event_kind.hpp"
#include "proto/server_frames.hpp"

namespace redoubt::proto {
namespace json = boost::json;

json::object user_json(const chat::user& u, bool include_private) {
  json::object o{{"id", u.id}, {"username", u.username}, {"display_name", u.display_name}};
  if (include_private) {
    o["email"] = u.email;
    o["email_verified"] = u.email_verified;
    o["is_admin"] = u.is_admin;
    o["disabled"] = u.disabled;
    o["created_at"] = u.created_at;
  }
  return o;
}

json::object room_json(const chat::room& r) {
  json::object o{{"id", r.id},
                 {"kind", chat::to_string(r.kind)},
                 {"name", r.name},
                 {"topic", r.topic},
                 {"created_at", r.created_at},
                 {"last_seq", r.last_seq},
                 {"member_count", r.member_count},
                 {"retention_days",
                  r.retention_days > 0 ? json::value(r.retention_days) : json::value(nullptr)},
                 {"my_role", chat::to_string(r.my_role)}};
  if (r.my_role != chat::room_role::none) {
    o["last_read_seq"] = r.my_last_read_seq;
    o["unread"] = r.unread;
    o["mentions_unread"] = r.mentions_unread;
  }
  if (r.kind == chat::room_kind::direct) {
    json::array members;
    for (auto id : r.dm_members) members.push_back(id);
    o["members"] = std::move(members);
  }
  return o;
}

json::object member_json(const chat::member& m) {
  return json::object{{"id", m.id},
                      {"username", m.username},
                      {"display_name", m.display_name},
                      {"role", chat::to_string(m.role)}};
}

json::object message_json(const chat::message& m) {
  json::array mentions;
  for (const auto& u : m.mentions) mentions.push_back(json::value(std::string_view(u)));
  json::array reactions;
  for (const auto& r : m.reactions) {
    json::array users;
    for (auto u : r.users) users.push_back(u);
    reactions.push_back(json::object{{"emoji", r.emoji}, {"users", std::move(users)}});
  }
  auto files = stored_json_or(m.attachments_json, json::array{});
  if (!files.is_array()) files = json::array{};
  return json::object{{"id", m.id},
                      {"room", m.room},
                      {"seq", m.seq},
                      {"author", m.author},
                      {"author_username", m.author_username},
                      {"client_id", m.client_id},
                      {"body", m.body},
                      {"reply_to", m.reply_to ? json::value(*m.reply_to) : json::value(nullptr)},
                      {"created_at", m.created_at},
                      {"edited_at", m.edited_at ? json::value(*m.edited_at) : json::value(nullptr)},
                      {"deleted", m.deleted},
                      {"mentions", std::move(mentions)},
                      {"reactions", std::move(reactions)},
                      {"attachments", std::move(files)}};
}

json::object session_json(const chat::session_info& s, std::int64_t current_session) {
  return json::object{{"id", s.id},
                      {"created_at", s.created_at},
                      {"last_seen_at", s.last_seen_at},
                      {"expires_at", s.expires_at},
                      {"user_agent", s.user_agent},
                      {"ip", s.ip},
                      {"current", s.id == current_session}};
}

std::string message_event_frame(const chat::message& m) {
  server::event_frame f{m.room, m.seq, std::string(chat::to_string(chat::room_event_kind::message)), m.author, m.created_at, message_json(m)};
  return server::encode(f);
}

std::string room_event_frame(const chat::room_event& e) {
  // The payload was written by the database as a JSON object; it goes out unchanged.
  server::event_frame f{e.room,  e.seq,        e.kind,
                        e.actor, e.created_at, stored_json_or(e.payload_json, json::object{})};
  return server::encode(f);
}

}  // namespace redoubt::proto
