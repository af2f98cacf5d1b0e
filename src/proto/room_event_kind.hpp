// The kinds of entry in a room's gapless event log, and the payload ("data") of each.
// The database writes these events (migrations/*.sql, src/storage); the C++ side names them
// only through this enum, and unit tests check that both agree (kinds_drift_test.cpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::chat {

enum class room_event_kind {
  message,  // data: a Message (proto::message_json of chat::message), not a payload struct
  message_edited,
  message_deleted,
  reaction_added,
  reaction_removed,
  member_joined,
  member_left,
  role_changed,
  topic_changed,
};

inline constexpr std::array all_room_event_kinds{
    room_event_kind::message,          room_event_kind::message_edited,
    room_event_kind::message_deleted,  room_event_kind::reaction_added,
    room_event_kind::reaction_removed, room_event_kind::member_joined,
    room_event_kind::member_left,      room_event_kind::role_changed,
    room_event_kind::topic_changed,
};

std::string_view to_string(room_event_kind k) noexcept;
std::optional<room_event_kind> room_event_kind_from_string(std::string_view s) noexcept;

// Payloads, one per kind (reaction_added and reaction_removed share theirs). Encoders write
// the keys in the order PostgreSQL's jsonb prints them, so an event reads the same whether it
// was built here or in SQL. Decoders ignore fields they do not know (newer writers).
// message_edited: the new body, written by the edit_message() SQL function.
struct message_edited_payload {
  message_id message = 0;
  std::string body;
  std::string edited_at;
};
std::string encode_payload(const message_edited_payload& p);

struct message_deleted_payload {
  message_id message = 0;
};
std::string encode_payload(const message_deleted_payload& p);

// reaction_added and reaction_removed.
struct reaction_payload {
  message_id message = 0;
  user_id user = 0;
  std::string emoji;
};
std::string encode_payload(const reaction_payload& p);

// member_joined: who joined, with the role they got.
struct member_joined_payload {
  user_id user = 0;
  std::string username;
  room_role role = room_role::member;
};
std::string encode_payload(const member_joined_payload& p);

struct role_changed_payload {
  user_id user = 0;
  room_role role = room_role::member;
};
std::string encode_payload(const role_changed_payload& p);

// member_left: actor is who removed them, or themselves.
struct member_left_payload {
  user_id user = 0;
};
std::string encode_payload(const member_left_payload& p);

struct topic_changed_payload {
  std::string topic;
};
std::string encode_payload(const topic_changed_payload& p);

// Reads the event's payload_json; invalid_argument names the field that is missing or wrong.
template <class Payload>
result<Payload> decode_payload(std::string_view json);

}  // namespace redoubt::chat
