#include "api/errors.hpp"

#include <array>

#include "proto/json_util.hpp"

namespace redoubt::api {

namespace {

struct errc_mapping {
  errc code;
  int http_status;
  std::string_view wire_code;
};

// Indexed by errc; the unit tests check that every errc has its own row.
constexpr std::array<errc_mapping, 14> table{{
    {errc::ok, 200, "ok"},
    {errc::invalid_argument, 400, "invalid_argument"},
    {errc::unauthenticated, 401, "unauthenticated"},
    {errc::permission_denied, 403, "permission_denied"},
    {errc::not_found, 404, "not_found"},
    {errc::already_exists, 409, "already_exists"},
    {errc::resource_exhausted, 429, "resource_exhausted"},
    {errc::payload_too_large, 413, "payload_too_large"},
    {errc::failed_precondition, 412, "failed_precondition"},
    {errc::conflict, 409, "conflict"},
    {errc::deadline_exceeded, 503, "deadline_exceeded"},
    {errc::unavailable, 503, "unavailable"},
    {errc::internal, 500, "internal"},
    {errc::quota_exceeded, 507, "quota_exceeded"},
}};

constexpr bool table_in_errc_order() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].code) != i) return false;
  return true;
}
static_assert(table_in_errc_order(), "one row per errc, in enum order");

const errc_mapping& mapping(errc code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < table.size() ? table[i] : table[static_cast<std::size_t>(errc::internal)];
}

// Internal details stay in the logs; the caller learns only that something failed.
std::string_view client_message(const error& e) {
  return e.code == errc::internal ? std::string_view("internal error") : std::string_view(e.message);
}

}  // namespace

int http_status(errc code) noexcept { return mapping(code).http_status; }

std::string_view wire_code(errc code) noexcept { return mapping(code).wire_code; }

http_response error_response(const error& e) {
  http_response r;
  r.status = http_status(e.code);
  r.body = proto::error_body(wire_code(e.code), client_message(e));
  if (r.status == 429 || r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

http_response error_response(errc code, std::string message) {
  return error_response(error{code, std::move(message)});
}

proto::server::error_frame ws_error_frame(const proto::server::ref_t& ref, const error& e) {
  return {ref, std::string(wire_code(e.code)), std::string(client_message(e))};
}

}  // namespace redoubt::api
