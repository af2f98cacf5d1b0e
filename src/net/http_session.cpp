#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "net/session_common.hpp"

namespace redoubt::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr auto token = as_tuple(use_awaitable);

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

http::response<http::string_body> to_beast_response(api::http_response&& res, unsigned version,
                                                    bool keep_alive, const std::string& request_id,
                                                    bool head = false) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
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
  out.keep_alive(keep_alive);
  if (head) {  // HEAD: the length of the body a GET would get, and no body
    out.content_length(res.body.size());
    return out;
  }
  out.body() = std::move(res.body);
  out.prepare_payload();
  return out;
}

asio::awaitable<void> write_error_and_close(tls_stream& stream, http::status status, std::string code,
                                            std::string message) {
  api::http_response r;
  r.status = static_cast<int>(status);
  r.body = "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}}";
  auto res = to_beast_response(std::move(r), 11, false, "-");
  stream.next_layer().expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, token);
}

}  // namespace

asio::awaitable<void> lingering_close(beast::tcp_stream& stream) {
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(2));
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
    parser.body_limit(limits.max_body_bytes);
    // Slowloris: the whole header must arrive within the header timeout.
    stream.next_layer().expires_after(limits.header_read_timeout);
    auto [hdr_ec, hdr_n] = co_await http::async_read_header(stream, buffer, parser, token);
    if (hdr_ec) {
      if (hdr_ec == http::error::header_limit) {
        co_await write_error_and_close(stream, http::status::request_header_fields_too_large,
                                       "payload_too_large", "request headers too large");
        co_await lingering_close(stream.next_layer());
        co_return;
      }
      if (hdr_ec == http::error::body_limit) {  // a declared Content-Length over the limit
        co_await write_error_and_close(stream, http::status::payload_too_large, "payload_too_large",
                                       "request body too large");
        co_await lingering_close(stream.next_layer());
        co_return;
      }
      break;
    }
    if (!parser.is_done()) {
      stream.next_layer().expires_after(limits.body_read_timeout);
      auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, token);
      if (body_ec) {
        if (body_ec == http::error::body_limit) {
          co_await write_error_and_close(stream, http::status::payload_too_large, "payload_too_large",
                                         "request body too large");
          co_await lingering_close(stream.next_layer());
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
        co_await write_error_and_close(stream, http::status::not_found, "not_found", "no such endpoint");
        break;
      }
      auto decision = co_await env.router.authorize_upgrade(api_req);
      if (decision.refusal) {
        auto res = to_beast_response(std::move(*decision.refusal), req.version(), false, api_req.request_id);
        stream.next_layer().expires_after(std::chrono::seconds(5));
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
    auto res = to_beast_response(co_await env.router.handle(std::move(api_req)), req.version(), keep_alive,
                                 request_id, head);
    stream.next_layer().expires_after(std::chrono::seconds(30));
    auto [w_ec, w_n] = co_await http::async_write(stream, res, token);
    if (w_ec || !keep_alive) break;
    // Idle keep-alive connections are closed by the next header timeout.
  }
  stream.next_layer().expires_after(std::chrono::seconds(3));
  co_await stream.async_shutdown(token);
}

}  // namespace redoubt::net
