#include <array>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api/errors.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "net/session_common.hpp"
#include "proto/json_util.hpp"

namespace redoubt::net {
namespace http = beast::http;

namespace {

api::http_request to_api_request(const http::request<http::string_body>& req, const std::string& ip) {
  api::http_request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = req.body();
  r.remote_ip = ip;
  r.request_id = crypto::random_hex(8);
  return r;
}

template <class Body>
void set_headers(http::response<Body>& out, const api::http_response& res, const std::string& request_id) {
  out.set(http::field::server, "redoubt");
  if (!res.content_type.empty()) out.set(http::field::content_type, res.content_type);
  // Security headers on every response.
  out.set(http::field::strict_transport_security, "max-age=63072000; includeSubDomains");
  out.set("X-Content-Type-Options", "nosniff");
  out.set("X-Frame-Options", "DENY");
  out.set("Referrer-Policy", "no-referrer");
  out.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  out.set(http::field::cache_control, "no-store");
  out.set("X-Request-Id", request_id);
  // A handler may replace the defaults of these two (the web client's pages and assets).
  for (auto& [k, v] : res.headers) {
    if (beast::iequals(k, "Content-Security-Policy") || beast::iequals(k, "Cache-Control"))
      out.set(k, v);
    else
      out.insert(k, v);
  }
}

http::response<http::string_body> to_beast_response(api::http_response&& res, unsigned version,
                                                    bool keep_alive, const std::string& request_id,
                                                    bool head = false) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
  set_headers(out, res, request_id);
  out.keep_alive(keep_alive);
  if (head) {  // HEAD: the length of the body a GET would get, and no body
    out.content_length(res.body.size());
    return out;
  }
  out.body() = std::move(res.body);
  out.prepare_payload();
  return out;
}

asio::awaitable<void> write_error_and_close(tls_stream& stream, http::status status, errc code,
                                            std::string message, std::chrono::seconds timeout) {
  api::http_response r;
  r.status = static_cast<int>(status);
  r.body = proto::error_body(api::wire_code(code), message);
  auto res = to_beast_response(std::move(r), 11, false, "-");
  stream.next_layer().expires_after(timeout);
  co_await http::async_write(stream, res, token);
}

// Answers with an error, then closes without a TCP reset destroying that answer.
asio::awaitable<void> refuse_and_linger(tls_stream& stream, http::status status, errc code,
                                        std::string message, const limits_settings& limits) {
  co_await write_error_and_close(stream, status, code, std::move(message),
                                 limits.error_write_timeout);
  co_await lingering_close(stream.next_layer(), limits.lingering_close_timeout);
}

// An upload body read straight from the connection into the handler's buffer.
class parser_body_source final : public api::body_source {
 public:
  parser_body_source(tls_stream& stream, beast::flat_buffer& buffer, http::request_parser<http::buffer_body>& parser,
                     bool expects_continue)
      : stream_(stream), buffer_(buffer), parser_(parser), expects_continue_(expects_continue) {}

  asio::awaitable<result<std::size_t>> read_some(char* buf, std::size_t len, std::chrono::seconds timeout) override {
    if (expects_continue_) {  // the client waits for this before sending the body
      expects_continue_ = false;
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.next_layer().expires_after(timeout);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(go_on), token);
      if (ec) co_return make_error(errc::unavailable, "connection lost");
    }
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = buf;
      body.size = len;
      stream_.next_layer().expires_after(timeout);
      auto [ec, n] = co_await http::async_read(stream_, buffer_, parser_, token);
      stream_.next_layer().expires_never();
      if (ec == http::error::need_buffer) ec = {};
      if (ec == beast::error::timeout) co_return make_error(errc::deadline_exceeded, "upload stalled");
      if (ec) co_return make_error(errc::unavailable, "connection lost");
      auto got = len - parser_.get().body().size;
      if (got > 0) co_return got;
    }
    co_return std::size_t{0};
  }

  std::optional<std::uint64_t> content_length() const override {
    auto n = parser_.content_length();
    if (!n) return std::nullopt;
    return static_cast<std::uint64_t>(*n);
  }

 private:
  tls_stream& stream_;
  beast::flat_buffer& buffer_;
  http::request_parser<http::buffer_body>& parser_;
  bool expects_continue_;
};

// A download written piece by piece after a header with its Content-Length.
class stream_body_sink final : public api::body_sink {
 public:
  stream_body_sink(tls_stream& stream, unsigned version, bool keep_alive, std::string request_id,
                   std::chrono::seconds write_timeout)
      : stream_(stream),
        version_(version),
        keep_alive_(keep_alive),
        request_id_(std::move(request_id)),
        write_timeout_(write_timeout) {}

  asio::awaitable<result<void>> start(const api::http_response& head, std::uint64_t content_length) override {
    http::response<http::empty_body> res{static_cast<http::status>(head.status), version_};
    set_headers(res, head, request_id_);
    if (!head.content_type.empty()) res.set(http::field::content_type, head.content_type);
    res.content_length(content_length);
    res.keep_alive(keep_alive_);
    http::response_serializer<http::empty_body> sr(res);
    stream_.next_layer().expires_after(write_timeout_);
    auto [ec, n] = co_await http::async_write_header(stream_, sr, token);
    if (ec) co_return make_error(errc::unavailable, "connection lost");
    co_return result<void>{};
  }

  asio::awaitable<result<void>> write(std::string_view data) override {
    // A reader that stops reading is dropped after this long per piece.
    stream_.next_layer().expires_after(write_timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data.data(), data.size()), token);
    if (ec) co_return make_error(errc::unavailable, "connection lost");
    co_return result<void>{};
  }

 private:
  tls_stream& stream_;
  unsigned version_;
  bool keep_alive_;
  std::string request_id_;
  std::chrono::seconds write_timeout_;
};

// Runs an upload or a download whose header was read. Returns false when the connection is
// already closed; sets `close` when it must be closed after this request.
asio::awaitable<bool> run_streamed(tls_stream& stream, beast::flat_buffer& buffer,
                                   http::request_parser<http::string_body>& parser, api::router::stream_kind kind,
                                   const std::string& ip, session_env& env, bool& close) {
  in_flight busy(env.stats);
  stream.next_layer().expires_never();
  auto api_req = to_api_request(parser.get(), ip);
  const auto version = parser.get().version();
  const bool keep_alive = parser.get().keep_alive();
  const auto request_id = api_req.request_id;
  const bool head = parser.get().method() == http::verb::head;
  api::stream_outcome out;
  bool body_done = true;
  if (kind == api::router::stream_kind::upload) {
    const bool expects_continue = beast::iequals(parser.get()[http::field::expect], "100-continue");
    http::request_parser<http::buffer_body> body_parser(std::move(parser));
    body_parser.body_limit(env.config.files.max_file_bytes);
    parser_body_source source(stream, buffer, body_parser, expects_continue);
    out = co_await env.router.handle_upload(std::move(api_req), source);
    body_done = body_parser.is_done();
  } else {
    stream_body_sink sink(stream, version, keep_alive, request_id, env.config.limits.write_timeout);
    out = co_await env.router.handle_download(std::move(api_req), sink);
    body_done = parser.is_done();  // a download request carries no body
  }
  close = out.close || !body_done || !keep_alive;
  if (out.response) {
    auto res = to_beast_response(std::move(*out.response), version, !close, request_id, head);
    stream.next_layer().expires_after(env.config.limits.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, token);
    if (ec) co_return false;
  }
  if (!body_done) {
    co_await lingering_close(stream.next_layer(), env.config.limits.lingering_close_timeout);
    co_return false;
  }
  co_return true;
}

}  // namespace

asio::awaitable<void> lingering_close(beast::tcp_stream& stream, std::chrono::seconds timeout) {
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.expires_after(timeout);
  std::array<char, 16384> sink;
  std::size_t total = 0;
  while (total < (4u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), token);
    if (ec) break;
    total += n;
  }
  stream.socket().close(ignored);
}

asio::awaitable<void> run_http_session(asio::ip::tcp::socket socket, session_env env) {
  const auto& limits = env.config.limits;
  std::string ip;
  {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) ip = ep.address().to_string();
  }
  tls_stream stream(std::move(socket), env.tls);
  stream.next_layer().expires_after(limits.tls_handshake_timeout);
  // Plain HTTP (or anything that is not TLS 1.3) fails here and the connection is dropped.
  auto [hs_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, token);
  if (hs_ec) {
    env.stats.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    // Uploads may declare up to the file limit; other requests are held to max_body_bytes below.
    parser.body_limit(std::max<std::uint64_t>(limits.max_body_bytes, env.config.files.max_file_bytes));
    // Slowloris: the whole header must arrive within the header timeout.
    stream.next_layer().expires_after(limits.header_read_timeout);
    auto [hdr_ec, hdr_n] = co_await http::async_read_header(stream, buffer, parser, token);
    if (hdr_ec) {
      if (hdr_ec == http::error::header_limit) {
        co_await refuse_and_linger(stream, http::status::request_header_fields_too_large,
                                   errc::payload_too_large, "request headers too large", limits);
        co_return;
      }
      if (hdr_ec == http::error::body_limit) {  // a declared Content-Length over the limit
        co_await refuse_and_linger(stream, http::status::payload_too_large, errc::payload_too_large,
                                   "request body too large", limits);
        co_return;
      }
      break;
    }
    if (auto kind = env.router.streamed(to_api_request(parser.get(), ip)); kind != api::router::stream_kind::none) {
      bool close = false;
      if (!co_await run_streamed(stream, buffer, parser, kind, ip, env, close)) co_return;
      if (close) break;
      continue;
    }
    if (auto declared = parser.content_length(); declared && *declared > limits.max_body_bytes) {
      co_await refuse_and_linger(stream, http::status::payload_too_large, errc::payload_too_large,
                                 "request body too large", limits);
      co_return;
    }
    parser.body_limit(limits.max_body_bytes);  // chunked bodies
    if (!parser.is_done()) {
      stream.next_layer().expires_after(limits.body_read_timeout);
      auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, token);
      if (body_ec) {
        if (body_ec == http::error::body_limit) {
          co_await refuse_and_linger(stream, http::status::payload_too_large, errc::payload_too_large,
                                     "request body too large", limits);
          co_return;
        }
        break;
      }
    }
    stream.next_layer().expires_never();
    auto req = parser.release();
    auto api_req = to_api_request(req, ip);

    if (beast::websocket::is_upgrade(req)) {
      if (api_req.path != "/api/v1/ws") {
        co_await write_error_and_close(stream, http::status::not_found, errc::not_found,
                                       "no such endpoint", limits.error_write_timeout);
        break;
      }
      auto decision = co_await env.router.authorize_upgrade(api_req);
      if (decision.refusal) {
        auto res = to_beast_response(std::move(*decision.refusal), req.version(), false, api_req.request_id);
        stream.next_layer().expires_after(limits.error_write_timeout);
        co_await http::async_write(stream, res, token);
        log::info("ws_upgrade_refused", {{"request_id", api_req.request_id}, {"ip", ip}, {"status", res.result_int()}});
        break;
      }
      co_await run_ws_session(std::move(stream), std::move(req), std::move(decision.session), ip, env);
      co_return;
    }

    bool keep_alive = req.keep_alive();
    auto request_id = api_req.request_id;
    const bool head = req.method() == http::verb::head;
    std::optional<in_flight> busy(std::in_place, env.stats);
    auto res = to_beast_response(co_await env.router.handle(std::move(api_req)), req.version(), keep_alive,
                                 request_id, head);
    stream.next_layer().expires_after(limits.write_timeout);
    auto [w_ec, w_n] = co_await http::async_write(stream, res, token);
    busy.reset();
    if (w_ec || !keep_alive) break;
    // Idle keep-alive connections are closed by the next header timeout.
  }
  stream.next_layer().expires_after(limits.tls_shutdown_timeout);
  co_await stream.async_shutdown(token);
}

}  // namespace redoubt::net
