// Vocabulary types of the chat domain: plain data, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace redoubt::chat {

using user_id = std::int64_t;
using room_id = std::int64_t;
using message_id = std::int64_t;
using seq_t = std::int64_t;

enum class room_kind { public_room, private_room, direct };
enum class room_role { none, member, moderator, owner };

std::string_view to_string(room_kind k) noexcept;
std::string_view to_string(room_role r) noexcept;
std::optional<room_kind> room_kind_from(std::string_view s) noexcept;
std::optional<room_role> room_role_from(std::string_view s) noexcept;

struct user {
  user_id id = 0;
  std::string username;
  std::string email;
  std::string display_name;
  bool is_admin = false;
  bool disabled = false;
  std::string created_at;
  bool email_verified = false;
};

// A user plus the secret material only the auth service may see.
struct user_credentials {
  user account;
  std::string password_hash;
};

struct session_info {
  std::int64_t id = 0;
  user account;
  std::string created_at;
  std::string last_seen_at;
  std::string expires_at;
  std::string user_agent;
  std::string ip;
  std::int64_t seconds_left = 0;  // until expires_at, as the database saw it when read
};

// Sessions that ended while connections opened with them may still be live (sign-out,
// revocation, password change or reset, account disabled). `session` set: that one session;
// otherwise every session of `user` but `keep`.
struct session_end {
  user_id user = 0;
  std::optional<std::int64_t> session;
  std::optional<std::int64_t> keep;

  bool covers(std::int64_t session_id) const {
    if (session) return *session == session_id;
    return !keep || *keep != session_id;
  }
};

struct room {
  room_id id = 0;
  room_kind kind = room_kind::public_room;
  std::string name;
  std::string topic;
  std::string created_at;
  seq_t last_seq = 0;
  // Filled for the asking user:
  room_role my_role = room_role::none;
  seq_t my_last_read_seq = 0;
  std::int64_t unread = 0;
  std::int64_t mentions_unread = 0;
  std::int64_t member_count = 0;
  std::vector<user_id> dm_members;  // direct rooms only
  int retention_days = 0;           // 0 = messages are kept
};

struct member {
  user_id id = 0;
  std::string username;
  std::string display_name;
  room_role role = room_role::member;
};

struct reaction_count {
  std::string emoji;
  std::vector<user_id> users;
};

struct message {
  message_id id = 0;
  room_id room = 0;
  seq_t seq = 0;
  user_id author = 0;
  std::string author_username;
  std::string client_id;
  std::string body;
  std::optional<message_id> reply_to;
  std::string created_at;
  std::optional<std::string> edited_at;
  bool deleted = false;
  std::vector<std::string> mentions;  // usernames
  std::vector<reaction_count> reactions;
  std::string attachments_json = "[]";  // JSON array of Attachment (rendered by the database)
};

// One entry of a room's gapless event log: a message (kind "message") or another change.
// payload_json is the JSON object sent to clients as the event's "data".
struct room_event {
  room_id room = 0;
  seq_t seq = 0;
  std::string kind;
  std::optional<user_id> actor;
  std::string payload_json;
  std::string created_at;
};

struct post_request {
  room_id room = 0;
  user_id author = 0;
  std::string author_username;
  std::string client_id;
  std::string body;
  std::optional<message_id> reply_to;
  std::vector<std::string> mentions;  // usernames parsed from the body
  std::vector<std::int64_t> attachments;  // ids of the author's unattached uploads in this room
};

// One entry of a replay, in seq order.
using replay_item = std::variant<message, room_event>;

enum class post_status { ok, duplicate, not_member, bad_reply, client_id_reused, bad_attachment };

struct post_outcome {
  post_status status = post_status::ok;
  message_id id = 0;
  seq_t seq = 0;
  std::string created_at;
  std::vector<std::string> mentioned;  // usernames recorded as mentions
  std::string attachments_json = "[]";
};

}  // namespace redoubt::chat
