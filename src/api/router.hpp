// REST API under /api/v1, the health/metrics endpoints and the web client's files; also
// decides WebSocket upgrades. A loop over the route table (api/routes.cpp): the checks every
// route shares (rate class, CSRF, content type, caller) run here, once, from the row.
// Handlers take plain http_request values and return http_response values (no Beast here).
// Thread-safe: shared by all connections.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "api/attachments.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/route_table.hpp"
#include "api/static_files.hpp"
#include "audit/recorder.hpp"
#include "auth/accounts.hpp"
#include "auth/admin.hpp"
#include "auth/rate_limit.hpp"
#include "base/config.hpp"
#include "chat/attachment_catalog.hpp"
#include "chat/hub.hpp"
#include "chat/message_writer.hpp"
#include "chat/service.hpp"

namespace redoubt::queue {
struct relay_stats;
}

namespace redoubt::api {

inline constexpr std::string_view session_cookie = "__Host-redoubt_session";

struct upgrade_decision {
  std::optional<http_response> refusal;  // set when the upgrade is refused
  chat::session_info session;
};

// The use cases and shared state the API drives, wired by the composition root.
struct app_context {
  const settings& config;
  files::attachment_store* file_store;  // null = attachments disabled
  chat::attachment_catalog& attachment_rows;
  auth::accounts& accounts;
  auth::admin& admin;
  audit::recorder& audit;
  chat::hub& hub;
  chat::message_writer& writer;
  chat::service& chat;
  metrics& stats;
  const queue::relay_stats* outbox = nullptr;  // null when background jobs are off
  // Readiness: whether the database answers.
  std::function<boost::asio::awaitable<result<void>>()> ready;
  // Appends the metrics of the layers below the API (database pool) to /metrics.
  std::function<void(std::string&)> append_metrics;
};

// What route handlers may use.
struct route_env {
  app_context& ctx;
  attachment_endpoints& attachments;
};

class router {
 public:
  explicit router(app_context ctx);

  boost::asio::awaitable<http_response> handle(http_request req);
  // Checks Origin (allowlist), rate limits and the session cookie of a WebSocket upgrade.
  boost::asio::awaitable<upgrade_decision> authorize_upgrade(const http_request& req);

  // Requests whose body (uploads) or response (downloads) is streamed; net/ asks this after
  // reading the header and then calls the matching handle_ instead of handle().
  enum class stream_kind { none, upload, download };
  stream_kind streamed(const http_request& head) const;
  boost::asio::awaitable<stream_outcome> handle_upload(http_request head, body_source& body);
  boost::asio::awaitable<stream_outcome> handle_download(http_request head, body_sink& sink);

  app_context& context() { return ctx_; }
  // Messages per user, over REST and all their WebSockets together (keyed by user id).
  auth::rate_limiter& message_limiter() { return messages_per_user_; }

 private:
  // A refusal from the checks every route shares, or the scope to run the handler with.
  struct admitted {
    std::optional<http_response> refusal;
    std::optional<chat::session_info> session;
  };
  boost::asio::awaitable<admitted> admit(const route& row, http_request& req, bool buffered_body);
  // handle_upload and handle_download: exactly one of body and sink is set.
  boost::asio::awaitable<stream_outcome> handle_streamed(http_request req, body_source* body,
                                                         body_sink* sink);
  boost::asio::awaitable<http_response> dispatch(http_request& req);
  // 404 "<capture> not found" for an id capture that is not a positive number.
  static std::optional<http_response> bad_path_id(const path_params& params);
  boost::asio::awaitable<result<chat::session_info>> session_of(const http_request& req);
  std::optional<http_response> over_rate(const route* row, const http_request& req, const chat::session_info* s);
  void log_request(const http_request& req, int status, std::chrono::steady_clock::time_point start);
  bool origin_allowed(std::string_view origin) const;

  app_context ctx_;
  auth::rate_limiter per_ip_;
  auth::rate_limiter history_per_user_;
  auth::rate_limiter messages_per_user_;  // shared by REST posts and every WebSocket of the user
  static_files web_;  // the built web client; disabled when server.web_root is empty
  attachment_endpoints attachments_;
  route_env env_;
};

// The session token from a Cookie header, if any.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace redoubt::api
