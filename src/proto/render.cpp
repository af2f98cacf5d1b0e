#include "proto/render.hpp"

#include <boost/json.hpp>

#include "proto/json_util.hpp"
#include "proto/room_event_kind.hpp"
#include "proto/server_frames.hpp"

namespace redoubt::proto {
namespace json = boost::json;

namespace {

// What anyone may see of a user: the start of user_json and of member_json.
json::object public_user_json(chat::user_id id, const std::string& username,
                              const std::string& display_name) {
  json::object o;
  o["id"] = id;
  o["username"] = username;
  o["display_name"] = display_name;
  return o;
}

}  // namespace

json::object user_json(const chat::user& u, bool include_private) {
  auto o = public_user_json(u.id, u.username, u.display_name);
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
  json::object o;
  o["id"] = r.id;
  o["kind"] = chat::to_string(r.kind);
  o["name"] = r.name;
  o["topic"] = r.topic;
  o["created_at"] = r.created_at;
  o["last_seq"] = r.last_seq;
  o["member_count"] = r.member_count;
  if (r.retention_days > 0)
    o["retention_days"] = r.retention_days;
  else
    o["retention_days"] = nullptr;
  o["my_role"] = chat::to_string(r.my_role);
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
  auto o = public_user_json(m.id, m.username, m.display_name);
  o["role"] = chat::to_string(m.role);
  return o;
}

json::object message_json(const chat::message& m) {
  json::object o;
  o["id"] = m.id;
  o["room"] = m.room;
  o["seq"] = m.seq;
  o["author"] = m.author;
  o["author_username"] = m.author_username;
  o["client_id"] = m.client_id;
  o["body"] = m.body;
  o["reply_to"] = m.reply_to ? json::value(*m.reply_to) : json::value(nullptr);
  o["created_at"] = m.created_at;
  o["edited_at"] = m.edited_at ? json::value(*m.edited_at) : json::value(nullptr);
  o["deleted"] = m.deleted;
  json::array mentions;
  for (const auto& u : m.mentions) mentions.push_back(json::value(std::string_view(u)));
  o["mentions"] = std::move(mentions);
  json::array reactions;
  for (const auto& r : m.reactions) {
    json::object rj;
    rj["emoji"] = r.emoji;
    json::array users;
    for (auto u : r.users) users.push_back(u);
    rj["users"] = std::move(users);
    reactions.push_back(std::move(rj));
  }
  o["reactions"] = std::move(reactions);
  auto files = stored_json_or(m.attachments_json, json::array{});
  o["attachments"] = files.is_array() ? std::move(files) : json::value(json::array{});
  return o;
}

json::object session_json(const chat::session_info& s, std::int64_t current_session) {
  json::object o;
  o["id"] = s.id;
  o["created_at"] = s.created_at;
  o["last_seen_at"] = s.last_seen_at;
  o["expires_at"] = s.expires_at;
  o["user_agent"] = s.user_agent;
  o["ip"] = s.ip;
  o["current"] = s.id == current_session;
  return o;
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
