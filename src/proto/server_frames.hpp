// Server -> client WebSocket frames (docs/protocol.md, "Server frames"): one struct per frame
// type and its encoder. The client side is proto/frames.hpp. Pure: no I/O, no domain types;
// nested domain objects (User, Message, event data) arrive already rendered (proto/render) and
// hold valid UTF-8 (they come from PostgreSQL text or from Boost.JSON parsing); the frames' own
// strings may hold anything and are made valid UTF-8 on the way out.
//
// Field order on the wire is the order the server has always written, so frames stay
// byte-for-byte what clients saw before these types existed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace redoubt::proto::server {

// The client frame's "id", echoed back as "ref".
using ref_t = std::optional<std::string>;

inline constexpr int protocol_version = 1;

struct hello_frame {
  boost::json::object user;  // User, with private fields (proto::user_json)
  std::int64_t session_id = 0;
  int protocol = protocol_version;
};
std::string encode(const hello_frame& f);

struct room_cursor {
  std::int64_t room = 0;
  std::int64_t last_seq = 0;
  std::int64_t from_seq = 0;  // events after this one follow
};

struct subscribed_frame {
  std::vector<room_cursor> rooms;
  ref_t ref;
};
std::string encode(const subscribed_frame& f);

struct event_frame {
  std::int64_t room = 0;
  std::int64_t seq = 0;
  std::string kind;  // chat::room_event_kind on the wire
  std::optional<std::int64_t> actor;
  std::string at;
  boost::json::value data;  // a Message, or the kind's payload object
};
std::string encode(const event_frame& f);

struct ack_frame {
  std::string client_id;
  std::int64_t room = 0;
  std::int64_t message_id = 0;
  std::int64_t seq = 0;
  std::string created_at;
  bool duplicate = false;
  ref_t ref;
};
std::string encode(const ack_frame& f);

struct typing_frame {
  std::int64_t room = 0;
  std::int64_t user = 0;
  std::string username;
};
std::string encode(const typing_frame& f);

enum class presence_status { online, away, offline };
std::string_view to_string(presence_status s) noexcept;

struct presence_frame {
  std::int64_t user = 0;
  presence_status status = presence_status::online;
};
std::string encode(const presence_frame& f);

struct pong_frame {
  ref_t ref;
};
std::string encode(const pong_frame& f);

// Sent only in reply to a client frame that carried an id.
struct ok_frame {
  std::string ref;
};
std::string encode(const ok_frame& f);

struct error_frame {
  ref_t ref;
  std::string code;  // the wire code of an errc (api/errors.hpp)
  std::string message;
};
std::string encode(const error_frame& f);

}  // namespace redoubt::proto::server
