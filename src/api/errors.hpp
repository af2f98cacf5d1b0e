// The one table from errc to HTTP status and to WebSocket close codes.
#pragma once

#include "api/http_types.hpp"
#include "base/errc.hpp"

namespace redoubt::api {

int http_status(errc code) noexcept;
// {"error":{"code","message"}} with the mapped status; Retry-After on 429/503.
http_response error_response(const error& e);
http_response error_response(errc code, std::string message);

}  // namespace redoubt::api
