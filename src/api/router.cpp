#include "api/router.hpp"

#include <boost/url/parse_path.hpp>

#include "api/errors.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "proto/text.hpp"

namespace redoubt::api {
using boost::asio::awaitable;

namespace {

http_response too_many(std::string message, std::chrono::seconds retry) {
  auto r = error_response(errc::resource_exhausted, std::move(message));
  r.headers.clear();
  r.headers.emplace_back("Retry-After", std::to_string(std::max<long>(1, retry.count())));
  return r;
}

bool is_mutating(std::string_view method) { return method != "GET" && method != "HEAD"; }

// caller::scraper: 404 while no token is configured (the endpoint is not exposed), 401 unless
// the request carries "Authorization: Bearer <token>" (compared in constant time, as digests so
// that not even the token's length shows).
std::optional<http_response> scraper_refusal(const secret_string& token, const http_request& req) {
  if (token.reveal().empty()) return error_response(errc::not_found, "no such endpoint");
  constexpr std::string_view scheme = "Bearer ";
  const auto header = req.header("authorization");
  const auto given = header.starts_with(scheme) ? header.substr(scheme.size()) : std::string_view{};
  if (!given.empty() && crypto::constant_time_equal(crypto::sha256_hex(given), crypto::sha256_hex(token.reveal())))
    return std::nullopt;
  auto r = error_response(errc::unauthenticated, "a metrics bearer token is required");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// Whether the path's first non-empty segments are `prefix` (/api, /api/v1).
bool under(std::string_view path, std::initializer_list<std::string_view> prefix) {
  auto segments = boost::urls::parse_path(path);
  if (!segments) return false;
  auto want = prefix.begin();
  for (auto seg : *segments) {
    if (want == prefix.end()) break;
    if (seg.empty()) continue;
    if (std::string_view(seg) != *want++) return false;
  }
  return want == prefix.end();
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
      messages_per_user_(ctx.config.limits.messages_per_second, ctx.config.limits.messages_burst),
      web_(ctx.config.server.web_root.empty() ? static_files()
                                              : static_files(ctx.config.server.web_root, static_files::limits{})),
      attachments_(ctx.config, ctx.file_store, ctx.attachment_rows, ctx.audit, ctx.chat, ctx.stats),
      env_{ctx_, attachments_} {
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

// The per-IP bucket before anything else (unmatched paths too); the per-user history bucket
// once the session is known.
std::optional<http_response> router::over_rate(const route* row, const http_request& req,
                                               const chat::session_info* session) {
  const auto rate = row ? row->rate : rate_class::per_ip;
  std::chrono::seconds retry{1};
  if (!session) {
    if (rate == rate_class::unlimited || per_ip_.allow(req.remote_ip, &retry)) return std::nullopt;
    ctx_.stats.rate_limited.fetch_add(1);
    return too_many("too many requests", retry);
  }
  auto* bucket = rate == rate_class::history_per_user    ? &history_per_user_
                 : rate == rate_class::messages_per_user ? &messages_per_user_
                                                         : nullptr;
  if (!bucket || bucket->allow(std::to_string(session->account.id), &retry)) return std::nullopt;
  ctx_.stats.rate_limited.fetch_add(1);
  return too_many(bucket == &history_per_user_ ? "too many history requests" : "sending too fast; slow down", retry);
}

awaitable<router::admitted> router::admit(const route& row, http_request& req, bool buffered_body) {
  admitted out;
  // CSRF: state-changing requests from a foreign origin are refused; JSON bodies need a JSON
  // content type, which a cross-site form cannot send without a CORS preflight we never grant.
  if (is_mutating(req.method)) {
    auto origin = req.header("origin");
    if (!origin.empty() && !origin_allowed(origin)) {
      out.refusal = error_response(errc::permission_denied, "cross-origin request refused");
      co_return out;
    }
    if (buffered_body && !req.body.empty() && req.header("content-type").substr(0, 16) != "application/json") {
      out.refusal = error_response(errc::invalid_argument, "Content-Type must be application/json");
      co_return out;
    }
  }
  if (row.max_body != 0 && req.body.size() > row.max_body) {
    out.refusal = error_response(errc::payload_too_large, "request body too large");
    co_return out;
  }
  if (row.who == caller::anyone) co_return out;
  if (row.who == caller::scraper) {
    out.refusal = scraper_refusal(ctx_.config.server.metrics_token, req);
    co_return out;
  }
  auto session = co_await session_of(req);
  if (!session) {
    out.refusal = error_response(session.error());
    co_return out;
  }
  req.user_id = session->account.id;
  if (row.who == caller::admin) {
    if (auto ok = auth::authorize_admin({session->account.id, session->account.is_admin}); !ok) {
      out.refusal = error_response(ok.error());
      co_return out;
    }
  }
  out.refusal = over_rate(&row, req, &*session);
  out.session = std::move(*session);
  co_return out;
}

std::optional<http_response> router::bad_path_id(const path_params& params) {
  auto name = params.invalid_id();
  if (!name) return std::nullopt;
  return error_response(errc::not_found, std::string(*name) + " not found");
}

awaitable<upgrade_decision> router::authorize_upgrade(const http_request& req) {
  upgrade_decision d;
  auto origin = req.header("origin");
  // Browsers always send Origin on WebSocket handshakes: a foreign one is a cross-site attempt.
  if (!origin.empty() && !origin_allowed(origin)) {
    d.refusal = error_response(errc::permission_denied, "origin not allowed");
    const audit::entry denied{std::nullopt, "ws.upgrade", proto::header_text(origin, 200), req.remote_ip,
                              req.request_id, "denied_origin"};
    co_await ctx_.audit.record(denied);
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
  // One user cannot hold more than their share of this node's connections.
  if (ctx_.hub.connections_of(s->account.id) >= ctx_.config.limits.max_ws_per_user) {
    ctx_.stats.rate_limited.fetch_add(1);
    d.refusal = error_response(errc::resource_exhausted, "too many open connections for this user");
    co_return d;
  }
  d.session = std::move(*s);
  co_return d;
}

router::stream_kind router::streamed(const http_request& head) const {
  auto match = find_route(route_table(), head.method, head.path);
  if (!match) return stream_kind::none;
  if (match->row->upload) return stream_kind::upload;
  if (match->row->download) return stream_kind::download;
  return stream_kind::none;
}

void router::log_request(const http_request& req, int status, std::chrono::steady_clock::time_point start) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ctx_.stats.count_request(status, static_cast<std::uint64_t>(us.count()));
  log::info("http_request", {{"request_id", req.request_id}, {"method", req.method}, {"path", req.path.substr(0, 200)},
                             {"status", status}, {"user_id", req.user_id}, {"ip", req.remote_ip}, {"us", us.count()}});
}

awaitable<stream_outcome> router::handle_upload(http_request req, body_source& body) {
  co_return co_await handle_streamed(std::move(req), &body, nullptr);
}

awaitable<stream_outcome> router::handle_download(http_request req, body_sink& sink) {
  co_return co_await handle_streamed(std::move(req), nullptr, &sink);
}

awaitable<stream_outcome> router::handle_streamed(http_request req, body_source* body,
                                                  body_sink* sink) {
  const auto start = std::chrono::steady_clock::now();
  // A refusal before the handler ran leaves an upload's body unread: the connection closes.
  const bool close_on_refusal = body != nullptr;
  stream_outcome out;
  auto match = find_route(route_table(), req.method, req.path);
  if (!match) {
    out = stream_outcome{error_response(errc::not_found, "no such endpoint"), close_on_refusal};
  } else if (auto refusal = over_rate(match->row, req, nullptr)) {
    out = stream_outcome{std::move(refusal), close_on_refusal};
  } else if (auto a = co_await admit(*match->row, req, false); a.refusal) {
    out = stream_outcome{std::move(a.refusal), close_on_refusal};
  } else if (auto bad = bad_path_id(match->params)) {
    out = stream_outcome{std::move(bad), close_on_refusal};
  } else {
    request_scope scope{req, std::move(match->params), &*a.session, {a.session->account.id, a.session->account.is_admin}};
    if (body) {
      out = co_await match->row->upload(env_, scope, *body);
    } else {
      out = co_await match->row->download(env_, scope, *sink);
    }
  }
  // No response: a download's went out through the sink (logged as 200), an upload's client
  // went away (logged as 0).
  const int unanswered = body ? 0 : 200;
  log_request(req, out.response ? out.response->status : unanswered, start);
  co_return out;
}

awaitable<http_response> router::dispatch(http_request& req) {
  auto match = find_route(route_table(), req.method, req.path);
  if (auto refusal = over_rate(match ? match->row : nullptr, req, nullptr)) co_return std::move(*refusal);
  if (!match || !match->row->fn) {
    // Everything outside /api/ is the web client's (the health and metrics paths are routes).
    if ((req.method == "GET" || req.method == "HEAD") && web_.enabled() && !under(req.path, {"api"}))
      co_return web_.serve(req.path);
    // Strangers get no map of the API: an unknown path under /api/v1/ asks for a session first.
    if (under(req.path, {"api", "v1"})) {
      auto session = co_await session_of(req);
      if (!session) co_return error_response(session.error());
    }
    co_return error_response(errc::not_found, "no such endpoint");
  }
  auto a = co_await admit(*match->row, req, true);
  if (a.refusal) co_return std::move(*a.refusal);
  if (auto bad = bad_path_id(match->params)) co_return std::move(*bad);
  request_scope scope{req, std::move(match->params), a.session ? &*a.session : nullptr, {}};
  if (a.session) scope.who = {a.session->account.id, a.session->account.is_admin};
  co_return co_await match->row->fn(env_, scope);
}

awaitable<http_response> router::handle(http_request req) {
  const auto start = std::chrono::steady_clock::now();
  auto res = co_await dispatch(req);
  log_request(req, res.status, start);
  co_return res;
}

}  // namespace redoubt::api
