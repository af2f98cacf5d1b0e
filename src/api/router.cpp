#include "api/router.hpp"

#include <charconv>
#include <map>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include "api/email_webhook.hpp"
#include "api/errors.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "proto/json_util.hpp"
#include "proto/render.hpp"
#include "proto/text.hpp"
#include "queue/outbox_relay.hpp"
#include "storage/audit_checkpoints.hpp"

namespace redoubt::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

http_response json_response(int status, const json::value& v) {
  http_response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

http_response no_content() {
  http_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  std::size_t i = 0;
  while (i <= query.size()) {
    auto j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    auto pair = query.substr(i, j - i);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    i = j + 1;
  }
  return std::nullopt;
}

std::string session_cookie_header(const std::string& token, std::int64_t max_age) {
  return std::string(session_cookie) + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(max_age);
}

auth::client_info client_of(const http_request& req) {
  return {req.remote_ip, std::string(req.header("user-agent").substr(0, 256)), req.request_id};
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  std::size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) ++i;
    auto j = header.find(';', i);
    if (j == std::string_view::npos) j = header.size();
    auto pair = header.substr(i, j - i);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    i = j + 1;
  }
  return std::nullopt;
}

router::router(app_context ctx)
    : ctx_(ctx),
      per_ip_(ctx.config.limits.requests_per_second_per_ip, ctx.config.limits.requests_burst_per_ip),
      history_per_user_(ctx.config.limits.history_requests_per_second, ctx.config.limits.history_burst),
      web_(ctx.config.server.web_root.empty() ? static_files()
                                              : static_files(ctx.config.server.web_root, static_files::limits{})),
      attachments_(ctx.config, ctx.file_store, ctx.attachment_rows, ctx.repo, ctx.chat, ctx.stats) {
  if (web_.enabled())
    log::info("web_root_loaded", {{"path", ctx.config.server.web_root}, {"files", web_.file_count()}});
}

bool router::origin_allowed(std::string_view origin) const {
  for (const auto& o : ctx_.config.server.allowed_origins)
    if (o == origin) return true;
  return origin == ctx_.config.server.public_origin;
}

awaitable<result<chat::session_info>> router::session_of(const http_request& req) {
  auto token = cookie_value(req.header("cookie"), session_cookie);
  if (!token) co_return make_error(errc::unauthenticated, "not signed in");
  co_return co_await ctx_.accounts.authenticate(*token);
}

awaitable<upgrade_decision> router::authorize_upgrade(const http_request& req) {
  upgrade_decision d;
  auto origin = req.header("origin");
  // Browsers always send Origin on WebSocket handshakes: a foreign one is a cross-site attempt.
  if (!origin.empty() && !origin_allowed(origin)) {
    d.refusal = error_response(errc::permission_denied, "origin not allowed");
    {
    const storage::audit_entry audit_record{std::nullopt, "ws.upgrade", std::string(origin.substr(0, 200)), req.remote_ip,
                              req.request_id, "denied_origin"};
    co_await ctx_.repo.audit(audit_record);
  }
    co_return d;
  }
  std::chrono::seconds retry{1};
  if (!per_ip_.allow(req.remote_ip, &retry)) {
    ctx_.stats.rate_limited.fetch_add(1);
    d.refusal = error_response(errc::resource_exhausted, "too many requests");
    co_return d;
  }
  auto s = co_await session_of(req);
  if (!s) {
    d.refusal = error_response(s.error());
    co_return d;
  }
  d.session = std::move(*s);
  co_return d;
}

router::stream_kind router::streamed(const http_request& head) const {
  const auto parts = split_path(head.path);
  // POST /api/v1/rooms/{id}/attachments
  if (head.method == "POST" && parts.size() == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "rooms" &&
      parts[4] == "attachments")
    return stream_kind::upload;
  // GET|HEAD /api/v1/attachments/{id}
  if ((head.method == "GET" || head.method == "HEAD") && parts.size() == 4 && parts[0] == "api" && parts[1] == "v1" &&
      parts[2] == "attachments")
    return stream_kind::download;
  return stream_kind::none;
}

void router::log_request(const http_request& req, int status, std::chrono::steady_clock::time_point start) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ctx_.stats.count_request(status, static_cast<std::uint64_t>(us.count()));
  log::info("http_request", {{"request_id", req.request_id}, {"method", req.method}, {"path", req.path.substr(0, 200)},
                             {"status", status}, {"user_id", req.user_id}, {"ip", req.remote_ip}, {"us", us.count()}});
}

namespace {
// A refusal of a streamed request before the handler ran; the upload body is unread, so the
// connection closes after it.
stream_outcome refused(http_response r, bool close) { return stream_outcome{std::move(r), close}; }
}  // namespace

awaitable<stream_outcome> router::handle_upload(http_request req, body_source& body) {
  auto start = std::chrono::steady_clock::now();
  stream_outcome out;
  std::chrono::seconds retry{1};
  const auto parts = split_path(req.path);
  auto room = parse_id(parts[3]);
  auto origin = req.header("origin");
  if (!per_ip_.allow(req.remote_ip, &retry)) {
    ctx_.stats.rate_limited.fetch_add(1);
    auto r = error_response(errc::resource_exhausted, "too many requests");
    r.headers.clear();
    r.headers.emplace_back("Retry-After", std::to_string(std::max<long>(1, retry.count())));
    out = refused(std::move(r), true);
  } else if (!origin.empty() && !origin_allowed(origin)) {
    out = refused(error_response(errc::permission_denied, "cross-origin request refused"), true);
  } else if (!room) {
    out = refused(error_response(errc::not_found, "room not found"), true);
  } else {
    auto session = co_await session_of(req);
    if (!session) {
      out = refused(error_response(session.error()), true);
    } else {
      req.user_id = session->account.id;
      const auth::actor who{session->account.id, session->account.is_admin};
      out = co_await attachments_.upload(req, who, *room, body);
    }
  }
  log_request(req, out.response ? out.response->status : 0, start);
  co_return out;
}

awaitable<stream_outcome> router::handle_download(http_request req, body_sink& sink) {
  auto start = std::chrono::steady_clock::now();
  stream_outcome out;
  std::chrono::seconds retry{1};
  const auto parts = split_path(req.path);
  auto id = parse_id(parts[3]);
  if (!per_ip_.allow(req.remote_ip, &retry)) {
    ctx_.stats.rate_limited.fetch_add(1);
    auto r = error_response(errc::resource_exhausted, "too many requests");
    r.headers.clear();
    r.headers.emplace_back("Retry-After", std::to_string(std::max<long>(1, retry.count())));
    out = refused(std::move(r), false);
  } else if (!id) {
    out = refused(error_response(errc::not_found, "attachment not found"), false);
  } else {
    auto session = co_await session_of(req);
    if (!session) {
      out = refused(error_response(session.error()), false);
    } else {
      req.user_id = session->account.id;
      const auth::actor who{session->account.id, session->account.is_admin};
      out = co_await attachments_.download(req, who, *id, sink);
    }
  }
  log_request(req, out.response ? out.response->status : 200, start);
  co_return out;
}

awaitable<http_response> router::handle(http_request req) {
  auto start = std::chrono::steady_clock::now();
  http_response res;
  std::chrono::seconds retry{1};
  if (req.path != "/healthz" && req.path != "/readyz" && req.path != "/metrics" &&
      !per_ip_.allow(req.remote_ip, &retry)) {
    ctx_.stats.rate_limited.fetch_add(1);
    res = error_response(errc::resource_exhausted, "too many requests");
    res.headers.clear();
    res.headers.emplace_back("Retry-After", std::to_string(std::max<long>(1, retry.count())));
  } else {
    res = co_await dispatch(req);
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ctx_.stats.count_request(res.status, static_cast<std::uint64_t>(us.count()));
  log::info("http_request", {{"request_id", req.request_id}, {"method", req.method}, {"path", req.path.substr(0, 200)},
                             {"status", res.status}, {"user_id", req.user_id}, {"ip", req.remote_ip}, {"us", us.count()}});
  co_return res;
}

std::string router::render_metrics() {
  std::string out;
  auto& m = ctx_.stats;
  append_metric(out, "redoubt_connections_total", "counter", "Accepted TCP connections.", m.connections_total.load());
  append_metric(out, "redoubt_connections_open", "gauge", "Open connections.", m.connections_open.load());
  append_metric(out, "redoubt_ws_open", "gauge", "Open WebSocket sessions.", m.ws_open.load());
  append_metric(out, "redoubt_ws_frames_in_total", "counter", "WebSocket frames received.", m.ws_frames_in.load());
  append_metric(out, "redoubt_ws_frames_out_total", "counter", "WebSocket frames queued for sending.", m.ws_frames_out.load());
  append_metric(out, "redoubt_ws_slow_consumer_closes_total", "counter", "Connections closed for not reading.",
                m.ws_slow_consumer_closes.load());
  append_metric(out, "redoubt_tls_handshake_failures_total", "counter", "Failed TLS handshakes.", m.tls_handshake_failures.load());
  out += "# HELP redoubt_http_requests_total HTTP requests by status class.\n# TYPE redoubt_http_requests_total counter\n";
  for (std::size_t i = 1; i < m.requests_by_class.size(); ++i) {
    auto label = "class=\"" + std::to_string(i) + "xx\"";
    append_metric(out, "redoubt_http_requests_total", "counter", "", m.requests_by_class[i].load(), label.c_str());
  }
  append_metric(out, "redoubt_http_request_duration_seconds_sum", "counter", "Total request handling time.",
                m.request_latency_us_sum.load() / 1e6);
  append_metric(out, "redoubt_http_request_duration_seconds_count", "counter", "Requests timed.", m.request_count.load());
  append_metric(out, "redoubt_messages_acked_total", "counter", "Messages acknowledged after commit.", m.messages_acked.load());
  append_metric(out, "redoubt_ack_latency_seconds_sum", "counter", "Total send-to-ack time.", m.ack_latency_us_sum.load() / 1e6);
  append_metric(out, "redoubt_rate_limited_total", "counter", "Requests refused by rate limits.", m.rate_limited.load());
  append_metric(out, "redoubt_blocked_connections_total", "counter", "Connections refused by the IP blocklist.",
                m.blocked_connections.load());
  auto ws = ctx_.writer.stats();
  append_metric(out, "redoubt_commit_batches_total", "counter", "Group-commit transactions.", ws.batches);
  append_metric(out, "redoubt_commit_batch_messages_total", "counter", "Messages written by group commits.", ws.messages);
  append_metric(out, "redoubt_commit_failures_total", "counter", "Failed group commits.", ws.failures);
  append_metric(out, "redoubt_commit_queue_length", "gauge", "Messages waiting for a group commit.", ws.queued);
  append_metric(out, "redoubt_attachment_uploads_total", "counter", "Attachments stored.", m.uploads_stored.load());
  append_metric(out, "redoubt_attachment_uploads_refused_total", "counter",
                "Uploads refused or broken before they were stored (size, quota, disk, rate, stall, client gone).",
                m.uploads_refused.load());
  append_metric(out, "redoubt_attachment_upload_bytes_total", "counter", "Bytes of stored attachments.",
                m.upload_bytes.load());
  append_metric(out, "redoubt_attachment_downloads_total", "counter", "Attachment downloads started.", m.downloads.load());
  append_metric(out, "redoubt_attachment_download_bytes_total", "counter", "Attachment bytes sent.",
                m.download_bytes.load());
  append_metric(out, "redoubt_attachment_integrity_failures_total", "counter",
                "Stored files that failed their integrity check on read.", m.integrity_failures.load());
  if (const auto* o = ctx_.outbox) {
    append_metric(out, "redoubt_outbox_published_total", "counter", "Jobs the stream acknowledged.",
                  o->published_total.load());
    append_metric(out, "redoubt_outbox_publish_failures_total", "counter",
                  "Job publishes the broker refused or did not acknowledge in time.", o->publish_failures_total.load());
    append_metric(out, "redoubt_outbox_unpublished", "gauge", "Outbox rows not yet in the stream (last count).",
                  o->unpublished.load());
    append_metric(out, "redoubt_outbox_oldest_unpublished_seconds", "gauge",
                  "Age of the oldest outbox row not yet in the stream (queue lag).", o->oldest_unpublished_seconds.load());
    append_metric(out, "redoubt_outbox_backlog_alarm", "gauge", "1 while the outbox backlog is over its alarm bounds.",
                  o->backlog_alarm.load() ? 1 : 0);
  }
  auto ps = ctx_.pool->stats();
  append_metric(out, "redoubt_db_pool_size", "gauge", "Open database connections.", ps.size);
  append_metric(out, "redoubt_db_pool_in_use", "gauge", "Database connections in use.", ps.in_use);
  append_metric(out, "redoubt_db_pool_waiting", "gauge", "Coroutines waiting for a connection.", ps.waiting);
  append_metric(out, "redoubt_db_pool_acquire_timeouts_total", "counter", "Pool acquire timeouts.", ps.acquire_timeouts_total);
  append_metric(out, "redoubt_db_connect_failures_total", "counter", "Failed database connects.", ps.connect_failures_total);
  return out;
}

namespace {
// Every refused webhook call is audited. (A free function: g++ 12 mishandles capturing
// lambda coroutines.)
awaitable<http_response> reject_webhook(storage::repository& repo, const http_request& req, error e) {
  json::object details{{"reason", e.message}, {"bytes", req.body.size()}};
  const storage::audit_entry audit_record{std::nullopt, "email_webhook.rejected", "-", req.remote_ip,
                                          req.request_id, "rejected", json::serialize(details)};
  co_await repo.audit(audit_record);
  log::warn("email_webhook_rejected", {{"reason", e.message}, {"ip", req.remote_ip}, {"request_id", req.request_id}});
  co_return error_response(e);
}
}  // namespace

awaitable<http_response> router::email_webhook(const http_request& req) {
  const auto& hook = ctx_.config.email_webhook;
  if (hook.secret.reveal().empty()) co_return error_response(errc::not_found, "no such endpoint");
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto verified = verify_webhook_signature(hook.secret.reveal(), req.header("x-redoubt-timestamp"),
                                           req.header("x-redoubt-signature"), req.body, now.count(),
                                           hook.tolerance.count());
  if (!verified) co_return co_await reject_webhook(ctx_.repo, req, verified.error());
  auto event = parse_email_event(req.body);
  if (!event) co_return co_await reject_webhook(ctx_.repo, req, event.error());
  auto fresh = co_await ctx_.repo.record_webhook_event(event->id);
  if (!fresh) co_return error_response(fresh.error());
  if (!*fresh) co_return json_response(200, json::object{{"status", "duplicate"}});
  auto applied = co_await ctx_.repo.apply_email_event(event->type, event->recipient, event->message_id);
  if (!applied) co_return error_response(applied.error());
  json::object details{{"event_id", event->id}, {"type", event->type}};
  const storage::audit_entry audit_record{std::nullopt, "email_webhook." + event->type, "-", req.remote_ip,
                                          req.request_id, "ok", json::serialize(details)};
  co_await ctx_.repo.audit(audit_record);
  co_return json_response(200, json::object{{"status", "accepted"}});
}

awaitable<http_response> router::dispatch(http_request& req) {
  const auto parts = split_path(req.path);
  const auto& m = req.method;

  if (req.path == "/healthz" && m == "GET") co_return json_response(200, json::object{{"status", "ok"}});
  if (req.path == "/readyz" && m == "GET") {
    auto ok = co_await ctx_.repo.ping();
    if (!ok) co_return error_response(errc::unavailable, "database unavailable");
    co_return json_response(200, json::object{{"status", "ready"}});
  }
  if (req.path == "/metrics" && m == "GET") {
    http_response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = render_metrics();
    co_return r;
  }
  // The web client: everything outside /api/ (the health and metrics paths are above).
  if ((m == "GET" || m == "HEAD") && web_.enabled() && (parts.empty() || parts[0] != "api"))
    co_return web_.serve(req.path);
  if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1")
    co_return error_response(errc::not_found, "no such endpoint");

  // CSRF: state-changing requests from a foreign origin are refused; JSON bodies need a JSON
  // content type, which a cross-site form cannot send without a CORS preflight we never grant.
  const bool mutating = m != "GET" && m != "HEAD";
  if (mutating) {
    auto origin = req.header("origin");
    if (!origin.empty() && !origin_allowed(origin))
      co_return error_response(errc::permission_denied, "cross-origin request refused");
    if (!req.body.empty() && req.header("content-type").substr(0, 16) != "application/json")
      co_return error_response(errc::invalid_argument, "Content-Type must be application/json");
  }
  auto body_object = [&]() -> result<json::object> {
    if (req.body.empty()) return json::object{};
    return proto::parse_object(req.body);
  };
  const std::vector<std::string_view> rest(parts.begin() + 2, parts.end());
  auto client = client_of(req);

  // --- unauthenticated endpoints
  if (rest.size() == 2 && rest[0] == "auth" && m == "POST" && (rest[1] == "register" || rest[1] == "login")) {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    bool reg = rest[1] == "register";
    if (auto ok = proto::only_fields(*body, reg ? std::initializer_list<std::string_view>{"username", "email", "password"}
                                                : std::initializer_list<std::string_view>{"username", "password"});
        !ok)
      co_return error_response(ok.error());
    auto username = proto::get_string(*body, "username");
    if (!username) co_return error_response(username.error());
    auto password = proto::get_string(*body, "password");
    if (!password) co_return error_response(password.error());
    secret_string pw(std::move(*password));
    result<auth::new_session> s = make_error(errc::internal, "");
    if (reg) {
      auto email = proto::get_string(*body, "email");
      if (!email) co_return error_response(email.error());
      s = co_await ctx_.accounts.register_user(*username, *email, pw, client);
    } else {
      s = co_await ctx_.accounts.login(*username, pw, client);
    }
    if (!s) co_return error_response(s.error());
    auto r = json_response(reg ? 201 : 200, json::object{{"user", proto::user_json(s->account, true)},
                                                         {"session_id", s->session_id}});
    r.headers.emplace_back("Set-Cookie", session_cookie_header(s->token.reveal(),
                                                               ctx_.config.auth.session_absolute_timeout.count()));
    co_return r;
  }

  if (rest.size() == 2 && rest[0] == "auth" && rest[1] == "verify-email" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"token"}); !ok) co_return error_response(ok.error());
    auto token = proto::get_string(*body, "token");
    if (!token) co_return error_response(token.error());
    auto ok = co_await ctx_.accounts.verify_email(*token, client);
    if (!ok) co_return error_response(ok.error());
    co_return json_response(200, json::object{{"email_verified", true}});
  }
  if (rest.size() == 2 && rest[0] == "auth" && rest[1] == "password-reset" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"email"}); !ok) co_return error_response(ok.error());
    auto email = proto::get_string(*body, "email");
    if (!email) co_return error_response(email.error());
    auto ok = co_await ctx_.accounts.request_password_reset(*email, client);
    if (!ok) co_return error_response(ok.error());
    // The same answer whether or not the address has an account.
    co_return json_response(202, json::object{{"status", "accepted"}});
  }
  if (rest.size() == 3 && rest[0] == "auth" && rest[1] == "password-reset" && rest[2] == "confirm" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"token", "password"}); !ok) co_return error_response(ok.error());
    auto token = proto::get_string(*body, "token");
    if (!token) co_return error_response(token.error());
    auto password = proto::get_string(*body, "password");
    if (!password) co_return error_response(password.error());
    secret_string pw(std::move(*password));
    auto ok = co_await ctx_.accounts.reset_password(*token, pw, client);
    if (!ok) co_return error_response(ok.error());
    co_return no_content();
  }
  if (rest.size() == 2 && rest[0] == "hooks" && rest[1] == "email" && m == "POST")
    co_return co_await email_webhook(req);

  // --- everything else needs a session
  auto session = co_await session_of(req);
  if (!session) co_return error_response(session.error());
  const auth::actor who{session->account.id, session->account.is_admin};
  req.user_id = who.id;

  if (rest.size() == 2 && rest[0] == "auth" && rest[1] == "logout" && m == "POST") {
    auto ok = co_await ctx_.accounts.logout(*session, client);
    if (!ok) co_return error_response(ok.error());
    auto r = no_content();
    r.headers.emplace_back("Set-Cookie", std::string(session_cookie) +
                                             "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    co_return r;
  }
  if (rest.size() == 1 && rest[0] == "me" && m == "GET")
    co_return json_response(200, json::object{{"user", proto::user_json(session->account, true)},
                                              {"session_id", session->id}});
  if (rest.size() == 1 && rest[0] == "me" && m == "PATCH") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"display_name"}); !ok) co_return error_response(ok.error());
    auto name = proto::get_string(*body, "display_name");
    if (!name) co_return error_response(name.error());
    auto user = co_await ctx_.accounts.set_display_name(*session, *name, client);
    if (!user) co_return error_response(user.error());
    co_return json_response(200, json::object{{"user", proto::user_json(*user, true)}});
  }
  if (rest.size() == 2 && rest[0] == "me" && rest[1] == "password" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"current_password", "new_password", "end_other_sessions"}); !ok)
      co_return error_response(ok.error());
    auto current = proto::get_string(*body, "current_password");
    if (!current) co_return error_response(current.error());
    auto next = proto::get_string(*body, "new_password");
    if (!next) co_return error_response(next.error());
    auto end_others = proto::get_optional_bool(*body, "end_other_sessions");
    if (!end_others) co_return error_response(end_others.error());
    secret_string current_pw(std::move(*current)), next_pw(std::move(*next));
    auto ok = co_await ctx_.accounts.change_password(*session, current_pw, next_pw, end_others->value_or(false), client);
    if (!ok) co_return error_response(ok.error());
    co_return no_content();
  }
  if (rest.size() == 2 && rest[0] == "admin" && rest[1] == "users" && m == "GET") {
    if (auto ok = auth::authorize_admin(who); !ok) co_return error_response(ok.error());
    auto users = co_await ctx_.repo.list_users(1000);
    if (!users) co_return error_response(users.error());
    json::array out;
    for (const auto& u : *users) out.push_back(proto::user_json(u, true));
    co_return json_response(200, json::object{{"users", std::move(out)}});
  }
  if (rest.size() == 3 && rest[0] == "admin" && rest[1] == "users" && m == "PATCH") {
    auto target = parse_id(rest[2]);
    if (!target) co_return error_response(errc::not_found, "user not found");
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"disabled", "is_admin"}); !ok) co_return error_response(ok.error());
    auto disabled = proto::get_optional_bool(*body, "disabled");
    if (!disabled) co_return error_response(disabled.error());
    auto is_admin = proto::get_optional_bool(*body, "is_admin");
    if (!is_admin) co_return error_response(is_admin.error());
    if (!*disabled && !*is_admin) co_return error_response(errc::invalid_argument, "send disabled and/or is_admin");
    if (auto ok = auth::authorize_account_change(who, *target, disabled->value_or(false),
                                                 is_admin->has_value() && !**is_admin);
        !ok)
      co_return error_response(ok.error());
    auto user = co_await ctx_.repo.admin_update_user(*target, *disabled, *is_admin);
    if (!user) co_return error_response(user.error());
    if (!*user) co_return error_response(errc::not_found, "user not found");
    json::object details;
    if (*disabled) details["disabled"] = **disabled;
    if (*is_admin) details["is_admin"] = **is_admin;
    const storage::audit_entry audit_record{who.id, "admin.update_user", "user:" + std::to_string(*target),
                                            req.remote_ip, req.request_id, "ok", json::serialize(details)};
    co_await ctx_.repo.audit(audit_record);
    co_return json_response(200, json::object{{"user", proto::user_json(**user, true)}});
  }
  if (rest.size() == 2 && rest[0] == "admin" && rest[1] == "audit" && m == "GET") {
    if (auto ok = auth::authorize_admin(who); !ok) co_return error_response(ok.error());
    std::int64_t before = 0, limit = 50;
    if (auto b = query_param(req.query, "before")) {
      auto v = parse_id(*b);
      if (!v) co_return error_response(errc::invalid_argument, "before must be an audit entry id");
      before = *v;
    }
    if (auto l = query_param(req.query, "limit")) {
      auto v = parse_id(*l);
      if (!v || *v > 200) co_return error_response(errc::invalid_argument, "limit must be 1..200");
      limit = *v;
    }
    auto page = co_await ctx_.repo.audit_page(before, static_cast<int>(limit));
    if (!page) co_return error_response(page.error());
    auto chain = co_await ctx_.repo.audit_chain();
    if (!chain) co_return error_response(chain.error());
    json::array entries;
    for (const auto& a : *page) {
      boost::system::error_code ec;
      auto details = json::parse(a.details_json, ec);
      entries.push_back(json::object{{"id", a.id},
                                     {"at", a.at},
                                     {"actor_id", a.actor_id ? json::value(*a.actor_id) : json::value(nullptr)},
                                     {"actor", a.actor},
                                     {"action", a.action},
                                     {"target", a.target},
                                     {"ip", a.ip},
                                     {"request_id", a.request_id},
                                     {"outcome", a.outcome},
                                     {"details", ec ? json::value(json::object{}) : std::move(details)}});
    }
    json::value next = page->size() == static_cast<std::size_t>(limit) && !page->empty()
                           ? json::value(page->back().id)
                           : json::value(nullptr);
    json::object chain_json{{"ok", chain->bad == 0},
                            {"checked", chain->checked},
                            {"bad", chain->bad},
                            {"first_bad_id", chain->first_bad_id ? json::value(*chain->first_bad_id) : json::value(nullptr)}};
    // The newest signed checkpoint, checked with this server's key: catches a chain rewritten
    // with recomputed hashes, which the chain check above cannot see.
    auto checkpoint = co_await ctx_.repo.newest_audit_checkpoint();
    if (!checkpoint) co_return error_response(checkpoint.error());
    json::value checkpoint_json = nullptr;
    if (*checkpoint) {
      std::map<std::string, std::string> trusted;
      const auto& pk = ctx_.config.jobs.signing_public_key;
      if (!pk.empty()) trusted.emplace(crypto::signing_key_id(pk), pk);
      const auto status = storage::check_checkpoint(**checkpoint, trusted);
      checkpoint_json = json::object{{"audit_id", (*checkpoint)->audit_id},
                                     {"signed_at", (*checkpoint)->signed_at},
                                     {"status", storage::status_name(status)},
                                     {"message", storage::describe(status)}};
    }
    co_return json_response(200, json::object{{"entries", std::move(entries)},
                                              {"next_before", std::move(next)},
                                              {"chain", std::move(chain_json)},
                                              {"checkpoint", std::move(checkpoint_json)}});
  }
  if (rest.size() == 1 && rest[0] == "sessions" && m == "GET") {
    auto list = co_await ctx_.repo.list_sessions(who.id);
    if (!list) co_return error_response(list.error());
    json::array out;
    for (const auto& s : *list) out.push_back(proto::session_json(s, session->id));
    co_return json_response(200, json::object{{"sessions", std::move(out)}});
  }
  if (rest.size() == 2 && rest[0] == "sessions" && m == "DELETE") {
    auto id = parse_id(rest[1]);
    if (!id) co_return error_response(errc::not_found, "session not found");
    auto ok = co_await ctx_.repo.revoke_session(who.id, *id);
    if (!ok) co_return error_response(ok.error());
    if (!*ok) co_return error_response(errc::not_found, "session not found");
    {
    const storage::audit_entry audit_record{who.id, "session.revoke", "session:" + std::to_string(*id), req.remote_ip, req.request_id};
    co_await ctx_.repo.audit(audit_record);
  }
    co_return no_content();
  }
  if (rest.size() == 1 && rest[0] == "rooms" && m == "GET") {
    auto rooms = co_await ctx_.chat.my_rooms(who);
    if (!rooms) co_return error_response(rooms.error());
    json::array out;
    for (const auto& r : *rooms) out.push_back(proto::room_json(r));
    co_return json_response(200, json::object{{"rooms", std::move(out)}});
  }
  if (rest.size() == 2 && rest[0] == "rooms" && rest[1] == "public" && m == "GET") {
    auto rooms = co_await ctx_.chat.public_rooms(who);
    if (!rooms) co_return error_response(rooms.error());
    json::array out;
    for (const auto& r : *rooms) out.push_back(proto::room_json(r));
    co_return json_response(200, json::object{{"rooms", std::move(out)}});
  }
  if (rest.size() == 1 && rest[0] == "rooms" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"name", "kind", "topic"}); !ok) co_return error_response(ok.error());
    auto name = proto::get_string(*body, "name");
    if (!name) co_return error_response(name.error());
    auto kind_s = proto::get_optional_string(*body, "kind");
    if (!kind_s) co_return error_response(kind_s.error());
    auto kind = chat::room_kind_from(kind_s->value_or("public"));
    if (!kind || *kind == chat::room_kind::direct)
      co_return error_response(errc::invalid_argument, "kind must be 'public' or 'private'");
    auto topic = proto::get_optional_string(*body, "topic");
    if (!topic) co_return error_response(topic.error());
    auto room = co_await ctx_.chat.create_room(who, *kind, *name, topic->value_or(""));
    if (!room) co_return error_response(room.error());
    ctx_.hub.member_added(room->id, who.id, 1);
    co_return json_response(201, json::object{{"room", proto::room_json(*room)}});
  }
  if (rest.size() == 1 && rest[0] == "dms" && m == "POST") {
    auto body = body_object();
    if (!body) co_return error_response(body.error());
    if (auto ok = proto::only_fields(*body, {"username"}); !ok) co_return error_response(ok.error());
    auto username = proto::get_string(*body, "username");
    if (!username) co_return error_response(username.error());
    auto room = co_await ctx_.chat.open_direct(who, *username);
    if (!room) co_return error_response(room.error());
    co_return json_response(200, json::object{{"room", proto::room_json(*room)}});
  }
  if (rest.size() >= 2 && rest[0] == "rooms") {
    auto id = parse_id(rest[1]);
    if (!id) co_return error_response(errc::not_found, "room not found");
    if (rest.size() == 2 && m == "GET") {
      auto room = co_await ctx_.chat.get_room(who, *id);
      if (!room) co_return error_response(room.error());
      co_return json_response(200, json::object{{"room", proto::room_json(*room)}});
    }
    if (rest.size() == 2 && m == "PATCH") {
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"topic", "retention_days"}); !ok) co_return error_response(ok.error());
      auto topic = proto::get_optional_string(*body, "topic");
      if (!topic) co_return error_response(topic.error());
      const auto* retention = body->if_contains("retention_days");
      // One change per request, so a refused one never leaves the other half done.
      if (static_cast<bool>(*topic) == (retention != nullptr))
        co_return error_response(errc::invalid_argument, "send exactly one of topic, retention_days");
      std::optional<std::int64_t> days;
      if (retention) {
        if (retention->is_null()) days = 0;
        else if (retention->is_int64() && retention->get_int64() > 0) days = retention->get_int64();
        else co_return error_response(errc::invalid_argument, "retention_days must be a positive integer or null");
      }
      if (days) {
        auto ok = co_await ctx_.chat.set_retention(who, *id, *days);
        if (!ok) co_return error_response(ok.error());
      }
      if (*topic) {
        auto ok = co_await ctx_.chat.set_topic(who, *id, **topic);
        if (!ok) co_return error_response(ok.error());
      }
      auto room = co_await ctx_.chat.get_room(who, *id);
      if (!room) co_return error_response(room.error());
      co_return json_response(200, json::object{{"room", proto::room_json(*room)}});
    }
    if (rest.size() == 3 && rest[2] == "join" && m == "POST") {
      auto room = co_await ctx_.chat.join(who, *id);
      if (!room) co_return error_response(room.error());
      co_return json_response(200, json::object{{"room", proto::room_json(*room)}});
    }
    if (rest.size() == 3 && rest[2] == "leave" && m == "POST") {
      auto ok = co_await ctx_.chat.leave(who, *id);
      if (!ok) co_return error_response(ok.error());
      co_return no_content();
    }
    if (rest.size() == 3 && rest[2] == "invite" && m == "POST") {
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"username"}); !ok) co_return error_response(ok.error());
      auto username = proto::get_string(*body, "username");
      if (!username) co_return error_response(username.error());
      auto ok = co_await ctx_.chat.invite(who, *id, *username);
      if (!ok) co_return error_response(ok.error());
      co_return no_content();
    }
    if (rest.size() == 3 && rest[2] == "members" && m == "GET") {
      auto members = co_await ctx_.chat.members(who, *id);
      if (!members) co_return error_response(members.error());
      json::array out;
      for (const auto& mb : *members) out.push_back(proto::member_json(mb));
      co_return json_response(200, json::object{{"members", std::move(out)}});
    }
    if (rest.size() == 4 && rest[2] == "members" && (m == "PUT" || m == "DELETE")) {
      auto member = parse_id(rest[3]);
      if (!member) co_return error_response(errc::not_found, "member not found");
      if (m == "DELETE") {
        auto ok = co_await ctx_.chat.remove_member(who, *id, *member);
        if (!ok) co_return error_response(ok.error());
        const storage::audit_entry audit_record{who.id, "room.remove_member",
                                                "room:" + std::to_string(*id) + " user:" + std::to_string(*member),
                                                req.remote_ip, req.request_id};
        co_await ctx_.repo.audit(audit_record);
        co_return no_content();
      }
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"role"}); !ok) co_return error_response(ok.error());
      auto role_s = proto::get_string(*body, "role");
      if (!role_s) co_return error_response(role_s.error());
      auto role = chat::room_role_from(*role_s);
      if (!role) co_return error_response(errc::invalid_argument, "role must be 'owner', 'moderator' or 'member'");
      auto ok = co_await ctx_.chat.set_member_role(who, *id, *member, *role);
      if (!ok) co_return error_response(ok.error());
      const storage::audit_entry audit_record{who.id, "room.set_role",
                                              "room:" + std::to_string(*id) + " user:" + std::to_string(*member) +
                                                  " role:" + *role_s,
                                              req.remote_ip, req.request_id};
      co_await ctx_.repo.audit(audit_record);
      co_return no_content();
    }
    if (rest.size() == 3 && rest[2] == "read" && m == "POST") {
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"seq"}); !ok) co_return error_response(ok.error());
      auto seq = proto::get_int64(*body, "seq");
      if (!seq) co_return error_response(seq.error());
      auto ok = co_await ctx_.chat.mark_read(who, *id, *seq);
      if (!ok) co_return error_response(ok.error());
      co_return no_content();
    }
    if (rest.size() == 3 && rest[2] == "messages" && m == "GET") {
      std::chrono::seconds retry{1};
      if (!history_per_user_.allow(std::to_string(who.id), &retry)) {
        ctx_.stats.rate_limited.fetch_add(1);
        auto r = error_response(errc::resource_exhausted, "too many history requests");
        r.headers.clear();
        r.headers.emplace_back("Retry-After", std::to_string(std::max<long>(1, retry.count())));
        co_return r;
      }
      std::int64_t before = 0, limit = 50;
      if (auto b = query_param(req.query, "before")) {
        auto v = parse_id(*b);
        if (!v && *b != "0") co_return error_response(errc::invalid_argument, "before must be a seq");
        before = v.value_or(0);
      }
      if (auto l = query_param(req.query, "limit")) {
        auto v = parse_id(*l);
        if (!v) co_return error_response(errc::invalid_argument, "limit must be a positive integer");
        limit = *v;
      }
      auto page = co_await ctx_.chat.history(who, *id, before,
                                             static_cast<int>(std::min<std::int64_t>(limit, 1 << 20)));
      if (!page) co_return error_response(page.error());
      json::array out;
      for (const auto& msg : page->messages) out.push_back(proto::message_json(msg));
      co_return json_response(200, json::object{{"messages", std::move(out)},
                                                {"next_before", page->next_before ? json::value(*page->next_before)
                                                                                  : json::value(nullptr)}});
    }
    if (rest.size() == 3 && rest[2] == "messages" && m == "POST") {
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"client_id", "body", "reply_to", "attachments"}); !ok)
        co_return error_response(ok.error());
      auto cid = proto::get_string(*body, "client_id");
      if (!cid) co_return error_response(cid.error());
      auto text = proto::get_string(*body, "body");
      if (!text) co_return error_response(text.error());
      auto reply = proto::get_optional_int64(*body, "reply_to");
      if (!reply) co_return error_response(reply.error());
      auto files = proto::get_optional_id_list(*body, "attachments", ctx_.config.limits.max_attachments_per_message);
      if (!files) co_return error_response(files.error());
      const std::optional<auth::room_facts> unknown_facts;
      auto out = co_await ctx_.chat.post(who, session->account.username, *id, *cid, *text, *reply,
                                         std::move(*files), unknown_facts);
      if (!out) co_return error_response(out.error());
      ctx_.stats.messages_acked.fetch_add(1);
      co_return json_response(out->status == chat::post_status::duplicate ? 200 : 201,
                              json::object{{"message_id", out->id}, {"room", *id}, {"seq", out->seq},
                                           {"client_id", *cid}, {"created_at", out->created_at},
                                           {"duplicate", out->status == chat::post_status::duplicate}});
    }
    co_return error_response(errc::not_found, "no such endpoint");
  }
  if (rest.size() == 3 && rest[0] == "attachments" && (rest[2] == "meta" || rest[2] == "thumbnail") && m == "GET") {
    auto id = parse_id(rest[1]);
    if (!id) co_return error_response(errc::not_found, "attachment not found");
    if (rest[2] == "meta") co_return co_await attachments_.meta(req, who, *id);
    co_return co_await attachments_.thumbnail(req, who, *id);
  }
  if (rest.size() == 2 && rest[0] == "attachments" && m == "DELETE") {
    auto id = parse_id(rest[1]);
    if (!id) co_return error_response(errc::not_found, "attachment not found");
    co_return co_await attachments_.discard(req, who, *id);
  }
  if (rest.size() == 2 && rest[0] == "me" && rest[1] == "storage" && m == "GET")
    co_return co_await attachments_.my_storage(who);
  if (rest.size() == 2 && rest[0] == "admin" && rest[1] == "storage" && m == "GET")
    co_return co_await attachments_.all_storage(who);
  if (rest.size() == 4 && rest[0] == "admin" && rest[1] == "users" && rest[3] == "quota" && m == "PUT") {
    auto user = parse_id(rest[2]);
    if (!user) co_return error_response(errc::not_found, "user not found");
    co_return co_await attachments_.set_quota(req, who, *user);
  }
  if (rest.size() >= 2 && rest[0] == "messages") {
    auto id = parse_id(rest[1]);
    if (!id) co_return error_response(errc::not_found, "message not found");
    if (rest.size() == 2 && m == "PATCH") {
      auto body = body_object();
      if (!body) co_return error_response(body.error());
      if (auto ok = proto::only_fields(*body, {"body"}); !ok) co_return error_response(ok.error());
      auto text = proto::get_string(*body, "body");
      if (!text) co_return error_response(text.error());
      auto out = co_await ctx_.chat.edit(who, *id, *text);
      if (!out) co_return error_response(out.error());
      co_return json_response(200, json::object{{"message_id", *id}, {"room", out->room}, {"seq", out->seq},
                                                {"edited_at", out->edited_at}});
    }
    if (rest.size() == 2 && m == "DELETE") {
      auto out = co_await ctx_.chat.remove(who, *id);
      if (!out) co_return error_response(out.error());
      {
    const storage::audit_entry audit_record{who.id, "message.delete", "message:" + std::to_string(*id), req.remote_ip, req.request_id};
    co_await ctx_.repo.audit(audit_record);
  }
      co_return no_content();
    }
    if (rest.size() == 4 && rest[2] == "reactions" && (m == "PUT" || m == "DELETE")) {
      // The emoji is a percent-encoded path segment.
      std::string emoji;
      auto pct = boost::urls::make_pct_string_view(rest[3]);
      if (!pct) co_return error_response(errc::invalid_argument, "bad emoji encoding");
      emoji = pct->decode();
      auto out = co_await ctx_.chat.react(who, *id, emoji, m == "PUT");
      if (!out) co_return error_response(out.error());
      co_return no_content();
    }
    co_return error_response(errc::not_found, "no such endpoint");
  }
  co_return error_response(errc::not_found, "no such endpoint");
}

}  // namespace redoubt::api
