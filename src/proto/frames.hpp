// Client -> server WebSocket frames (see docs/protocol.md), parsed and validated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/errc.hpp"

namespace redoubt::proto {

struct subscribe_frame {
  std::optional<std::string> id;
  std::map<std::int64_t, std::int64_t> after_seq;  // room -> last seq the client has
};

struct send_frame {
  std::optional<std::string> id;
  std::int64_t room = 0;
  std::string client_id;
  std::string body;
  std::optional<std::int64_t> reply_to;
  std::vector<std::int64_t> attachments;
};

struct typing_frame {
  std::optional<std::string> id;
  std::int64_t room = 0;
};

struct read_frame {
  std::optional<std::string> id;
  std::int64_t room = 0;
  std::int64_t seq = 0;
};

struct presence_frame {
  std::optional<std::string> id;
  std::string status;  // "online" | "away"
};

struct ping_frame {
  std::optional<std::string> id;
};

using client_frame =
    std::variant<subscribe_frame, send_frame, typing_frame, read_frame, presence_frame, ping_frame>;

struct frame_limits {
  std::size_t max_body_chars = 8000;
  std::size_t max_attachments = 10;
};

// Parses one text frame. Errors carry the request id (when one could be read) in `id_out`.
result<client_frame> parse_client_frame(std::string_view text, const frame_limits& limits,
                                        std::optional<std::string>& id_out);

// Validates a message body: UTF-8, no control characters but \n and \t, 1..max chars after trim.
result<std::string> validate_body(std::string_view body, std::size_t max_chars);
// A display name: UTF-8, no control characters, trimmed, 0..64 characters ("" = none).
result<std::string> validate_display_name(std::string_view name);
// The same, but an empty body is allowed (returned as "") when the message has attachments.
result<std::string> validate_body(std::string_view body, std::size_t max_chars, bool has_attachments);

}  // namespace redoubt::proto
