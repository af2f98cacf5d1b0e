#include "proto/server_frames.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "proto/enum_names.hpp"
#include "proto/text.hpp"

namespace redoubt::proto::server {
namespace json = boost::json;

namespace {

// Strings of a frame are written as valid UTF-8 whatever they hold, so the frame always parses.
json::string text(std::string_view s) {
  return json::string(utf8_or_replacement(s));
}

// Appends "ref" when the client frame had an id, then serializes.
std::string with_ref(json::object o, const ref_t& ref) {
  if (ref) o["ref"] = text(*ref);
  return json::serialize(o);
}

json::value optional_int(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

constexpr enum_names<presence_status, 3> presence_names{{"online", "away", "offline"}};

}  // namespace

std::string_view to_string(presence_status s) noexcept {
  return presence_names(s);
}

std::string encode(const hello_frame& f) {
  return json::serialize(json::object{
      {"type", "hello"}, {"user", f.user}, {"session_id", f.session_id}, {"protocol", f.protocol}});
}

std::string encode(const subscribed_frame& f) {
  json::array rooms;
  rooms.reserve(f.rooms.size());
  for (const auto& r : f.rooms)
    rooms.push_back(
        json::object{{"room", r.room}, {"last_seq", r.last_seq}, {"from_seq", r.from_seq}});
  return with_ref(json::object{{"type", "subscribed"}, {"rooms", std::move(rooms)}}, f.ref);
}

std::string encode(const event_frame& f) {
  return json::serialize(json::object{{"type", "event"},
                                      {"room", f.room},
                                      {"seq", f.seq},
                                      {"kind", text(f.kind)},
                                      {"actor", optional_int(f.actor)},
                                      {"at", text(f.at)},
                                      {"data", f.data}});
}

std::string encode(const ack_frame& f) {
  json::object o{{"type", "ack"},
                 {"client_id", text(f.client_id)},
                 {"room", f.room},
                 {"message_id", f.message_id},
                 {"seq", f.seq},
                 {"created_at", text(f.created_at)},
                 {"duplicate", f.duplicate}};
  return with_ref(std::move(o), f.ref);
}

std::string encode(const typing_frame& f) {
  return json::serialize(json::object{
      {"type", "typing"}, {"room", f.room}, {"user", f.user}, {"username", text(f.username)}});
}

std::string encode(const presence_frame& f) {
  return json::serialize(
      json::object{{"type", "presence"}, {"user", f.user}, {"status", to_string(f.status)}});
}

std::string encode(const pong_frame& f) {
  return with_ref(json::object{{"type", "pong"}}, f.ref);
}

std::string encode(const ok_frame& f) {
  return json::serialize(json::object{{"type", "ok"}, {"ref", text(f.ref)}});
}

std::string encode(const error_frame& f) {
  json::object o{{"type", "error"}};
  if (f.ref) o["ref"] = text(*f.ref);
  o["code"] = text(f.code);
  o["message"] = text(f.message);
  return json::serialize(o);
}

}  // namespace redoubt::proto::server
