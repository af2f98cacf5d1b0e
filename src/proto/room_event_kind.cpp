#include "proto/room_event_kind.hpp"

#include <boost/json.hpp>

#include "proto/enum_names.hpp"
#include "proto/json_util.hpp"

namespace redoubt::chat {
namespace json = boost::json;

namespace {
// Indexed by room_event_kind: the names in the database and on the wire.
constexpr proto::enum_names<room_event_kind, all_room_event_kinds.size()> names{
    {"message", "message_edited", "message_deleted", "reaction_added", "reaction_removed",
     "member_joined", "member_left", "role_changed", "topic_changed"}};
}  // namespace

std::string_view to_string(room_event_kind k) noexcept {
  return names(k);
}

std::optional<room_event_kind> room_event_kind_from_string(std::string_view s) noexcept {
  return names.find(s);
}

namespace {

// Reads fields of one payload object; the first missing or wrong one is the error.
class field_reader {
 public:
  explicit field_reader(const json::object& o) : o_(o) {}

  std::int64_t id(std::string_view key) {
    auto v = proto::get_int64(o_, key);
    if (v && *v > 0) return *v;
    fail(v ? make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be > 0")
           : v.error());
    return 0;
  }
  std::string text(std::string_view key) {
    auto v = proto::get_string(o_, key);
    if (!v) fail(v.error());
    return v ? std::move(*v) : std::string();
  }
  room_role role() {
    auto r = room_role_from(text("role"));
    if (!r || *r == room_role::none)
      fail(make_error(errc::invalid_argument, "field 'role' is not a role"));
    return r.value_or(room_role::member);
  }
  template <class Payload>
  result<Payload> done(Payload p) const {
    if (error_) return *error_;
    return p;
  }

 private:
  void fail(error e) {
    if (!error_) error_ = std::move(e);
  }
  const json::object& o_;
  std::optional<error> error_;
};

// Braced lists evaluate left to right, so the first bad field is the one reported.
template <class Payload>
result<Payload> read(field_reader& f);

template <>
result<message_edited_payload> read(field_reader& f) {
  return f.done(message_edited_payload{f.id("message_id"), f.text("body"), f.text("edited_at")});
}
template <>
result<message_deleted_payload> read(field_reader& f) {
  return f.done(message_deleted_payload{f.id("message_id")});
}
template <>
result<reaction_payload> read(field_reader& f) {
  return f.done(reaction_payload{f.id("message_id"), f.id("user_id"), f.text("emoji")});
}
template <>
result<member_joined_payload> read(field_reader& f) {
  return f.done(member_joined_payload{f.id("user_id"), f.text("username"), f.role()});
}
template <>
result<member_left_payload> read(field_reader& f) {
  return f.done(member_left_payload{f.id("user_id")});
}
template <>
result<role_changed_payload> read(field_reader& f) {
  return f.done(role_changed_payload{f.id("user_id"), f.role()});
}
template <>
result<topic_changed_payload> read(field_reader& f) {
  return f.done(topic_changed_payload{f.text("topic")});
}

}  // namespace

template <class Payload>
result<Payload> decode_payload(std::string_view text) {
  auto o = proto::parse_object(text);
  if (!o) return o.error();
  field_reader fields(*o);
  return read<Payload>(fields);
}

template result<message_edited_payload> decode_payload(std::string_view);
template result<message_deleted_payload> decode_payload(std::string_view);
template result<reaction_payload> decode_payload(std::string_view);
template result<member_joined_payload> decode_payload(std::string_view);
template result<member_left_payload> decode_payload(std::string_view);
template result<role_changed_payload> decode_payload(std::string_view);
template result<topic_changed_payload> decode_payload(std::string_view);

// Keys in jsonb order: shorter keys first, then bytewise.
std::string encode_payload(const message_edited_payload& p) {
  return json::serialize(
      json::object{{"body", p.body}, {"edited_at", p.edited_at}, {"message_id", p.message}});
}

std::string encode_payload(const message_deleted_payload& p) {
  return json::serialize(json::object{{"message_id", p.message}});
}

std::string encode_payload(const reaction_payload& p) {
  return json::serialize(
      json::object{{"emoji", p.emoji}, {"user_id", p.user}, {"message_id", p.message}});
}

std::string encode_payload(const member_joined_payload& p) {
  return json::serialize(
      json::object{{"role", to_string(p.role)}, {"user_id", p.user}, {"username", p.username}});
}

std::string encode_payload(const member_left_payload& p) {
  return json::serialize(json::object{{"user_id", p.user}});
}

std::string encode_payload(const role_changed_payload& p) {
  return json::serialize(json::object{{"role", to_string(p.role)}, {"user_id", p.user}});
}

std::string encode_payload(const topic_changed_payload& p) {
  return json::serialize(json::object{{"topic", p.topic}});
}

}  // namespace redoubt::chat
