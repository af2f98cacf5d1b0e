#include "api/errors.hpp"

#include "proto/json_util.hpp"

namespace redoubt::api {

int http_status(errc code) noexcept {
  switch (code) {
    case errc::ok: return 200;
    case errc::invalid_argument: return 400;
    case errc::unauthenticated: return 401;
    case errc::permission_denied: return 403;
    case errc::not_found: return 404;
    case errc::already_exists: return 409;
    case errc::conflict: return 409;
    case errc::failed_precondition: return 412;
    case errc::payload_too_large: return 413;
    case errc::resource_exhausted: return 429;
    case errc::deadline_exceeded: return 503;
    case errc::unavailable: return 503;
    case errc::internal: return 500;
    case errc::quota_exceeded: return 507;
  }
  return 500;
}

http_response error_response(const error& e) {
  http_response r;
  r.status = http_status(e.code);
  // Internal details stay in the logs; the caller learns only that something failed.
  r.body = proto::error_body(e.code, e.code == errc::internal ? "internal error" : e.message);
  if (r.status == 429 || r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

http_response error_response(errc code, std::string message) {
  return error_response(error{code, std::move(message)});
}

}  // namespace redoubt::api
