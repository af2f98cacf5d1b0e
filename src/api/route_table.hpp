// The route table: every REST endpoint is one row (method, path pattern, who may call it, rate
// class, body limit, handler). The router is a loop over it: CSRF, content type, caller and
// rate checks happen there, once, from the row, for every route. Path patterns are literal
// segments and {name} captures, matched against the percent-encoded path (Boost.URL).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "api/errors.hpp"
#include "api/http_types.hpp"
#include "audit/recorder.hpp"
#include "auth/accounts.hpp"
#include "auth/policy.hpp"
#include "model/model.hpp"

namespace redoubt::api {

struct route_env;  // what handlers may use (router.hpp)

enum class caller {
  anyone,   // no session needed (sign-in, health; the email webhook checks its own signature)
  session,  // a valid session cookie
  admin,    // a session of an administrator
  scraper,  // "Authorization: Bearer <server.metrics_token>"; 404 when no token is configured
};

enum class rate_class {
  unlimited,         // health and readiness probes
  per_ip,            // the per-IP request bucket
  history_per_user,  // per-IP, then the per-user history bucket
  messages_per_user, // per-IP, then the per-user message bucket its WebSockets share
};

// A positive id (1..10^18) written in decimal, or nothing.
std::optional<std::int64_t> parse_id(std::string_view s);

// Captured path segments, percent-decoded. A capture {name} is an id (a positive number);
// {name:text} is any text.
class path_params {
 public:
  void add(std::string_view name, std::string value, bool is_id);
  std::string_view get(std::string_view name) const;
  // A positive id (1..10^18), or nothing.
  std::optional<std::int64_t> id(std::string_view name) const;
  // The first id capture that is not a valid id ("room" for /rooms/abc), if any.
  std::optional<std::string_view> invalid_id() const { return invalid_id_; }

 private:
  std::vector<std::pair<std::string_view, std::string>> values_;
  std::optional<std::string_view> invalid_id_;
};

// One request as a handler sees it.
struct request_scope {
  http_request& req;
  path_params params;
  const chat::session_info* session = nullptr;  // set for caller::session and caller::admin
  auth::actor who;

  // An id capture; the router answered 404 already when it was not a valid id.
  std::int64_t id(std::string_view name) const { return params.id(name).value_or(0); }
  auth::client_info client() const;
  audit::origin origin() const { return {req.remote_ip, req.request_id}; }
  // The body as a JSON object ({} for an empty body); invalid_argument otherwise.
  result<boost::json::object> body() const;
  // A query parameter, percent-decoded; nothing when absent.
  std::optional<std::string> query(std::string_view key) const;
};

// Reads a JSON request body field by field. Fields outside `allowed` are refused; the first
// problem wins and later reads return empty values, so a handler reads every field and then
// checks once:  body_reader b(rq, {"name"}); auto name = b.string("name"); if (!b) ...
class body_reader {
 public:
  body_reader(const request_scope& rq, std::initializer_list<std::string_view> allowed);

  std::string string(std::string_view key);
  std::optional<std::string> optional_string(std::string_view key);
  std::int64_t int64(std::string_view key);
  std::optional<std::int64_t> optional_int64(std::string_view key);
  std::optional<bool> optional_bool(std::string_view key);
  std::vector<std::int64_t> optional_id_list(std::string_view key, std::size_t max_items);
  const boost::json::object& object() const { return object_; }

  explicit operator bool() const { return !problem_; }
  const error& problem() const { return *problem_; }

 private:
  template <class T>
  T take(result<T> r) {
    if (problem_) return T{};
    if (!r) {
      problem_ = r.error();
      return T{};
    }
    return std::move(*r);
  }
  boost::json::object object_;
  std::optional<error> problem_;
};

using handler = boost::asio::awaitable<http_response> (*)(route_env&, request_scope&);
using upload_handler = boost::asio::awaitable<stream_outcome> (*)(route_env&, request_scope&, body_source&);
using download_handler = boost::asio::awaitable<stream_outcome> (*)(route_env&, request_scope&, body_sink&);

struct route {
  std::string_view method;
  std::string_view pattern;
  caller who = caller::session;
  rate_class rate = rate_class::per_ip;
  std::size_t max_body = 0;  // 0: limits.max_body_bytes (net/ enforces that one while reading)
  handler fn = nullptr;
  upload_handler upload = nullptr;      // the body is streamed to the handler
  download_handler download = nullptr;  // the handler streams the response
};

// Matches one pattern ("/api/v1/rooms/{room}") against a percent-encoded path; empty segments
// are skipped ("//", a trailing "/").
std::optional<path_params> match_path(std::string_view pattern, std::string_view path);

struct route_match {
  const route* row = nullptr;
  path_params params;
};
// The first row whose method and pattern match.
std::optional<route_match> find_route(std::span<const route> table, std::string_view method, std::string_view path);

// Every endpoint of the server (api/routes.cpp).
std::span<const route> route_table();

// Responses the handlers share.
http_response json_response(int status, const boost::json::value& v);
http_response no_content();
// 204 when `r` holds a value (the value is not sent), else the error.
template <class T>
http_response no_content_or_error(const result<T>& r) {
  return r ? no_content() : error_response(r.error());
}

}  // namespace redoubt::api
