// REST API under /api/v1 and the health/metrics endpoints; also decides WebSocket upgrades.
// Handlers take plain http_request values and return http_response values (no Beast here).
// Thread-safe: shared by all connections.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "api/attachments.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/static_files.hpp"
#include "auth/accounts.hpp"
#include "auth/rate_limit.hpp"
#include "base/config.hpp"
#include "chat/hub.hpp"
#include "chat/message_writer.hpp"
#include "chat/service.hpp"
#include "db/pg.hpp"

namespace redoubt::queue {
struct relay_stats;
}

namespace redoubt::api {

inline constexpr std::string_view session_cookie = "__Host-redoubt_session";

struct upgrade_decision {
  std::optional<http_response> refusal;  // set when the upgrade is refused
  chat::session_info session;
};

struct app_context {
  const settings& config;
  files::attachment_store* file_store;  // null = attachments disabled
  storage::attachment_repository& attachment_rows;
  std::shared_ptr<db::pool> pool;
  storage::repository& repo;
  auth::accounts& accounts;
  chat::hub& hub;
  chat::message_writer& writer;
  chat::service& chat;
  metrics& stats;
  const queue::relay_stats* outbox = nullptr;  // null when background jobs are off
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

 private:
  boost::asio::awaitable<http_response> dispatch(http_request& req);
  boost::asio::awaitable<http_response> email_webhook(const http_request& req);
  boost::asio::awaitable<result<chat::session_info>> session_of(const http_request& req);
  void log_request(const http_request& req, int status, std::chrono::steady_clock::time_point start);
  std::string render_metrics();
  bool origin_allowed(std::string_view origin) const;

  app_context ctx_;
  auth::rate_limiter per_ip_;
  auth::rate_limiter history_per_user_;
  static_files web_;  // the built web client; disabled when server.web_root is empty
  attachment_endpoints attachments_;
};

// The session token from a Cookie header, if any.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace redoubt::api
