// The one table from errc to what a client sees: the HTTP status, the wire code in error
// bodies and WebSocket error frames, and the WebSocket close codes the server uses.
#pragma once

#include <string_view>

#include "api/http_types.hpp"
#include "base/errc.hpp"
#include "proto/server_frames.hpp"

namespace redoubt::api {

int http_status(errc code) noexcept;
// The "code" of error bodies and error frames (docs/protocol.md, Errors).
std::string_view wire_code(errc code) noexcept;

// {"error":{"code","message"}} with the mapped status; Retry-After on 429/503.
http_response error_response(const error& e);
http_response error_response(errc code, std::string message);

// {"type":"error","ref"?,"code","message"}; internal details stay in the logs.
proto::server::error_frame ws_error_frame(const proto::server::ref_t& ref, const error& e);

// WebSocket close codes (RFC 6455 section 7.4.1) sent by the server.
namespace ws_close_code {
inline constexpr int normal = 1000;
// The client does not read its frames: the bounded send queue is full.
inline constexpr int slow_consumer = 1008;  // policy violation
// A frame over [limits] max_ws_message_bytes (sent by Beast itself, before buffering).
inline constexpr int message_too_big = 1009;
// The session the connection was opened with ended: signed out, revoked, expired, password
// changed or reset, account disabled. Sign in again; do not reconnect with the old cookie.
inline constexpr int session_ended = 4401;
}  // namespace ws_close_code

}  // namespace redoubt::api
