#include "support/tls_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <deque>

namespace redoubt::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* user_agent = "redoubt-tests/1";

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void fail(const std::string& what, const beast::error_code& ec) {
  throw std::runtime_error(what + ": " + ec.message() + " [" + ec.category().name() + ":" +
                           std::to_string(ec.value()) + "]");
}

ssl::context make_tls_context(const std::string& ca_file) {
  ssl::context ctx(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION) != 1) {
    throw std::runtime_error("cannot restrict the client to TLS 1.3");
  }
  beast::error_code ec;
  ctx.load_verify_file(ca_file, ec);
  if (ec) fail("cannot load CA file " + ca_file, ec);
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

// SNI + certificate name check (DNS name, or IP address for literal hosts).
void configure_peer_name(SSL* ssl, const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  if (!ec) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      throw std::runtime_error("cannot set expected peer IP " + host);
    }
    return;
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    throw std::runtime_error("cannot set SNI " + host);
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) {
    throw std::runtime_error("cannot set expected peer host " + host);
  }
}

// Starts one async operation and runs the io_context until it completes. Timeouts come from
// beast::tcp_stream's expiry (the operation then completes with beast::error::timeout).
template <class Start>
beast::error_code run_op(net::io_context& io, Start&& start) {
  std::optional<beast::error_code> result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  while (!result && io.run_one() > 0) {
  }
  if (!result) throw std::logic_error("asynchronous operation did not complete");
  return *result;
}

// Resolves, connects and completes the TLS handshake, each step bounded by timeout.
// A non-empty source binds the local end first (any 127.x.y.z reaches a server on 127.0.0.1,
// so tests can act from several client addresses).
void connect_tls(net::io_context& io, tls_stream& stream, const std::string& host,
                 unsigned short port, std::chrono::milliseconds timeout, const std::string& source = {}) {
  tcp::resolver resolver(io);
  beast::error_code ec;
  // "localhost" means 127.0.0.1 here: the server listens on IPv4 only.
  auto endpoints = host == "localhost" ? resolver.resolve(tcp::v4(), host, std::to_string(port), ec)
                                       : resolver.resolve(host, std::to_string(port), ec);
  if (ec) fail("cannot resolve " + host, ec);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(timeout);
  if (source.empty()) {
    ec = run_op(io, [&](auto handler) { tcp_layer.async_connect(endpoints, std::move(handler)); });
  } else {
    // A range connect closes and reopens the socket per endpoint, losing the bind: connect to
    // the first endpoint on the bound socket instead.
    const tcp::endpoint target = *endpoints.begin();
    tcp_layer.socket().open(target.protocol());
    tcp_layer.socket().bind(tcp::endpoint(net::ip::make_address(source), 0));
    ec = run_op(io, [&](auto handler) { tcp_layer.async_connect(target, std::move(handler)); });
  }
  if (ec) fail("cannot connect to " + host + ":" + std::to_string(port), ec);
  configure_peer_name(stream.native_handle(), host);
  tcp_layer.expires_after(timeout);
  ec = run_op(io, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) fail("TLS handshake with " + host + ":" + std::to_string(port) + " failed", ec);
  tcp_layer.expires_never();
}

bool is_connection_gone(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::ssl::error::stream_truncated || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted ||
         ec == http::error::partial_message;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// http_response

std::string http_response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

std::vector<std::string> http_response::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

json::value http_response::json() const {
  return json::parse(body);
}

// ---------------------------------------------------------------------------------------------
// https_client

struct https_client::impl {
  impl(std::string h, unsigned short p, std::string ca)
      : host(std::move(h)), port(p), ca_file(std::move(ca)), ctx(make_tls_context(ca_file)) {}

  std::string host;
  unsigned short port;
  std::string ca_file;
  std::chrono::milliseconds timeout{15000};
  std::string source;
  header_list jar;
  net::io_context io;
  ssl::context ctx;
  std::unique_ptr<tls_stream> stream;
  beast::flat_buffer buffer;

  std::unique_ptr<tls_stream> open() {
    auto s = std::make_unique<tls_stream>(io, ctx);
    connect_tls(io, *s, host, port, timeout, source);
    return s;
  }

  void drop() {
    if (stream) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
      stream.reset();
      io.restart();
      io.poll();
    }
    buffer.clear();
  }

  std::string host_header() const { return host + ":" + std::to_string(port); }

  void store_cookie(std::string_view set_cookie) {
    std::string_view pair = set_cookie.substr(0, set_cookie.find(';'));
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) return;
    std::string name(trim(pair.substr(0, eq)));
    std::string value(trim(pair.substr(eq + 1)));
    if (name.empty()) return;
    bool expired = false;
    std::string_view attrs =
        set_cookie.size() > pair.size() ? set_cookie.substr(pair.size() + 1) : std::string_view{};
    while (!attrs.empty()) {
      auto semi = attrs.find(';');
      std::string_view attr = trim(attrs.substr(0, semi));
      attrs = semi == std::string_view::npos ? std::string_view{} : attrs.substr(semi + 1);
      auto aeq = attr.find('=');
      std::string_view aname = trim(attr.substr(0, aeq));
      std::string_view avalue =
          aeq == std::string_view::npos ? std::string_view{} : trim(attr.substr(aeq + 1));
      if (iequals(aname, "max-age")) {
        try {
          if (std::stoll(std::string(avalue)) <= 0) expired = true;
        } catch (const std::exception&) {
        }
      } else if (iequals(aname, "expires") && avalue.find("1970") != std::string_view::npos) {
        expired = true;
      }
    }
    auto it = std::find_if(jar.begin(), jar.end(), [&](const auto& c) { return c.first == name; });
    if (expired) {
      if (it != jar.end()) jar.erase(it);
    } else if (it != jar.end()) {
      it->second = std::move(value);
    } else {
      jar.emplace_back(std::move(name), std::move(value));
    }
  }
};

https_client::https_client(std::string host, unsigned short port, std::string ca_file)
    : impl_(std::make_unique<impl>(std::move(host), port, std::move(ca_file))) {}

https_client::~https_client() {
  if (impl_) impl_->drop();
}

https_client::https_client(https_client&&) noexcept = default;
https_client& https_client::operator=(https_client&&) noexcept = default;

http_response https_client::request(std::string_view method, std::string_view target,
                                    std::string_view body, const header_list& extra_headers) {
  auto& d = *impl_;
  http::request<http::string_body> req;
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, d.host_header());
  req.set(http::field::user_agent, user_agent);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  auto cookies = cookie_header();
  if (!cookies.empty()) req.set(http::field::cookie, cookies);
  for (const auto& [name, value] : extra_headers) req.set(name, value);
  req.body() = std::string(body);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    bool reused = d.stream != nullptr;
    if (!d.stream) d.stream = d.open();
    auto& tcp_layer = beast::get_lowest_layer(*d.stream);

    tcp_layer.expires_after(d.timeout);
    auto ec =
        run_op(d.io, [&](auto handler) { http::async_write(*d.stream, req, std::move(handler)); });
    if (ec) {
      d.drop();
      if (reused && attempt == 0 && is_connection_gone(ec)) continue;
      fail(std::string(method) + " " + std::string(target) + ": write failed", ec);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.header_limit(1024 * 1024);
    if (req.method() == http::verb::head) parser.skip(true);
    tcp_layer.expires_after(d.timeout);
    ec = run_op(d.io, [&](auto handler) {
      http::async_read(*d.stream, d.buffer, parser, std::move(handler));
    });
    if (ec) {
      bool nothing = !parser.got_some();
      d.drop();
      if (reused && attempt == 0 && nothing && is_connection_gone(ec)) continue;
      fail(std::string(method) + " " + std::string(target) + ": reading the response failed", ec);
    }
    tcp_layer.expires_never();

    auto res = parser.release();
    http_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) d.drop();
    for (const auto& [name, value] : out.headers) {
      if (name == "set-cookie") d.store_cookie(value);
    }
    return out;
  }
}

http_response https_client::get(std::string_view target, const header_list& extra_headers) {
  return request("GET", target, {}, extra_headers);
}

http_response https_client::post(std::string_view target, const json::value& body,
                                 const header_list& extra_headers) {
  return request("POST", target, json::serialize(body), extra_headers);
}

http_response https_client::put(std::string_view target, const json::value& body,
                                const header_list& extra_headers) {
  return request("PUT", target, json::serialize(body), extra_headers);
}

http_response https_client::patch(std::string_view target, const json::value& body,
                                  const header_list& extra_headers) {
  return request("PATCH", target, json::serialize(body), extra_headers);
}

http_response https_client::del(std::string_view target, const header_list& extra_headers) {
  return request("DELETE", target, {}, extra_headers);
}

std::string https_client::cookie_header() const {
  std::string out;
  for (const auto& [name, value] : impl_->jar) {
    if (!out.empty()) out += "; ";
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::optional<std::string> https_client::cookie(std::string_view name) const {
  for (const auto& [n, v] : impl_->jar) {
    if (n == name) return v;
  }
  return std::nullopt;
}

void https_client::set_cookie(std::string name, std::string value) {
  auto& jar = impl_->jar;
  auto it = std::find_if(jar.begin(), jar.end(), [&](const auto& c) { return c.first == name; });
  if (it != jar.end()) {
    it->second = std::move(value);
  } else {
    jar.emplace_back(std::move(name), std::move(value));
  }
}

void https_client::clear_cookies() {
  impl_->jar.clear();
}

void https_client::disconnect() {
  impl_->drop();
}

void https_client::set_source_address(std::string ip) {
  impl_->drop();
  impl_->source = std::move(ip);
}

void https_client::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout = timeout;
}

const std::string& https_client::host() const {
  return impl_->host;
}

unsigned short https_client::port() const {
  return impl_->port;
}

const std::string& https_client::ca_file() const { return impl_->ca_file; }

struct streamed_request::impl {
  impl(const https_client& c, std::chrono::milliseconds t)
      : ctx(make_tls_context(c.ca_file())), stream(io, ctx), timeout(t) {
    connect_tls(io, stream, c.host(), c.port(), timeout);
  }
  net::io_context io;
  ssl::context ctx;
  tls_stream stream;
  std::chrono::milliseconds timeout;
  std::string pending_head;
  bool broken = false;
  beast::flat_buffer buffer;
};

streamed_request::streamed_request(const https_client& client, std::string head, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(client, timeout)) {
  impl_->pending_head = std::move(head) + "\r\n\r\n";
}

streamed_request::~streamed_request() { close(); }

bool streamed_request::write(std::string_view bytes) {
  auto& d = *impl_;
  if (d.broken) return false;
  std::string data = std::move(d.pending_head);
  d.pending_head.clear();
  data.append(bytes);
  auto& tcp_layer = beast::get_lowest_layer(d.stream);
  tcp_layer.expires_after(d.timeout);
  auto ec = run_op(d.io, [&](auto handler) { net::async_write(d.stream, net::buffer(data), std::move(handler)); });
  tcp_layer.expires_never();
  if (ec) d.broken = true;
  return !ec;
}

http_response streamed_request::response(std::chrono::milliseconds timeout, std::size_t body_limit) {
  auto& d = *impl_;
  http_response out;
  if (!d.pending_head.empty()) write({});
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  auto& tcp_layer = beast::get_lowest_layer(d.stream);
  tcp_layer.expires_after(timeout);
  run_op(d.io, [&](auto handler) { http::async_read(d.stream, d.buffer, parser, std::move(handler)); });
  tcp_layer.expires_never();
  if (!parser.is_header_done()) return out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
  out.body = res.body();
  return out;
}

void streamed_request::close() {
  if (!impl_) return;
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->stream).socket().close(ignored);
  impl_->broken = true;
}

std::string https_client::raw_exchange(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  auto stream = d.open();
  auto& tcp_layer = beast::get_lowest_layer(*stream);
  tcp_layer.expires_after(timeout);

  std::string payload(bytes);
  std::string received;
  std::array<char, 16 * 1024> chunk{};
  bool write_done = payload.empty();
  bool read_done = false;

  if (!payload.empty()) {
    net::async_write(*stream, net::buffer(payload),
                     [&](beast::error_code, std::size_t) { write_done = true; });
  }
  std::function<void()> read_more = [&] {
    stream->async_read_some(net::buffer(chunk), [&](beast::error_code ec, std::size_t n) {
      received.append(chunk.data(), n);
      if (ec) {
        read_done = true;
      } else {
        read_more();
      }
    });
  };
  read_more();

  d.io.restart();
  bool closed = false;
  while (!(read_done && write_done)) {
    if (read_done && !closed) {
      // The server is done talking; abandon whatever is left to write.
      beast::error_code ignored;
      tcp_layer.socket().close(ignored);
      closed = true;
    }
    if (d.io.run_one() == 0) break;
  }
  beast::error_code ignored;
  tcp_layer.socket().close(ignored);
  d.io.restart();
  d.io.poll();
  return received;
}

// ---------------------------------------------------------------------------------------------
// ws_client

ws_upgrade_refused::ws_upgrade_refused(int status_code, std::string response_body)
    : std::runtime_error("websocket upgrade refused with HTTP " + std::to_string(status_code) +
                         ": " + response_body),
      status(status_code),
      body(std::move(response_body)) {}

struct ws_client::impl {
  enum class state { open, closed, dropped };

  explicit impl(const std::string& ca_file) : ctx(make_tls_context(ca_file)), ws(io, ctx) {}

  net::io_context io;
  ssl::context ctx;
  websocket::stream<tls_stream> ws;
  beast::flat_buffer rbuf;
  struct frame {
    bool text;
    std::string data;
  };
  std::deque<frame> inbox;
  bool read_pending = false;
  state st = state::open;
  int close_code = -1;
  std::string close_reason;
  beast::error_code read_error;
  beast::error_code write_error;
  std::vector<json::value> skipped;

  void start_read() {
    read_pending = true;
    ws.async_read(rbuf, [this](beast::error_code ec, std::size_t) {
      read_pending = false;
      if (ec) {
        if (ec == websocket::error::closed) {
          st = state::closed;
          const auto& reason = ws.reason();
          close_code = reason.code == websocket::close_code::none ? 1005 : reason.code;
          close_reason = std::string(reason.reason.data(), reason.reason.size());
        } else {
          st = state::dropped;
          read_error = ec;
        }
        return;
      }
      inbox.push_back({ws.got_text(), beast::buffers_to_string(rbuf.data())});
      rbuf.consume(rbuf.size());
      start_read();
    });
  }

  // Runs handlers until done() or the deadline; returns done().
  template <class Pred>
  bool pump_until(clock_type::time_point deadline, Pred&& done) {
    io.restart();
    while (!done()) {
      if (clock_type::now() >= deadline) return false;
      if (io.run_one_until(deadline) == 0 && io.stopped()) return done();
    }
    return true;
  }

  std::string describe_end() const {
    if (st == state::closed) {
      return "websocket closed by peer (code " + std::to_string(close_code) + ", reason \"" +
             close_reason + "\")";
    }
    std::string s = "websocket connection dropped: " + read_error.message();
    if (write_error) s += " (last write error: " + write_error.message() + ")";
    return s;
  }

  std::optional<frame> next_frame(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    pump_until(deadline, [&] { return !inbox.empty() || st != state::open; });
    if (!inbox.empty()) {
      frame f = std::move(inbox.front());
      inbox.pop_front();
      return f;
    }
    if (st != state::open) throw std::runtime_error(describe_end());
    return std::nullopt;
  }

  std::string next_text(std::chrono::milliseconds timeout) {
    auto f = next_frame(timeout);
    if (!f) {
      std::string s = "timed out after " + std::to_string(timeout.count()) +
                      " ms waiting for a websocket frame";
      if (write_error) s += " (last write error: " + write_error.message() + ")";
      throw std::runtime_error(s);
    }
    if (!f->text) throw std::runtime_error("received a binary websocket frame");
    return std::move(f->data);
  }

  void write(std::string_view data, bool text) {
    if (st != state::open) throw std::runtime_error("send on closed websocket: " + describe_end());
    ws.text(text);
    std::optional<beast::error_code> result;
    ws.async_write(net::buffer(data.data(), data.size()),
                   [&result](beast::error_code ec, std::size_t) { result = ec; });
    if (!pump_until(clock_type::now() + std::chrono::seconds(10),
                    [&] { return result.has_value(); })) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
      pump_until(clock_type::now() + std::chrono::seconds(1), [&] { return result.has_value(); });
      throw std::runtime_error("websocket write timed out");
    }
    if (*result) write_error = *result;
  }

  void shutdown_socket() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    pump_until(clock_type::now() + std::chrono::seconds(1), [&] { return !read_pending; });
  }
};

ws_client::ws_client(std::string host, unsigned short port, std::string ca_file,
                     std::string cookie_header, std::optional<std::string> origin,
                     std::string target)
    : impl_(std::make_unique<impl>(ca_file)) {
  auto& d = *impl_;
  connect_tls(d.io, d.ws.next_layer(), host, port, std::chrono::seconds(10));
  d.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  d.ws.set_option(
      websocket::stream_base::decorator([cookie_header, origin](websocket::request_type& req) {
        req.set(http::field::user_agent, user_agent);
        if (!cookie_header.empty()) req.set(http::field::cookie, cookie_header);
        if (origin) req.set(http::field::origin, *origin);
      }));
  d.ws.read_message_max(64 * 1024 * 1024);

  websocket::response_type res;
  std::optional<beast::error_code> result;
  d.ws.async_handshake(res, host + ":" + std::to_string(port), target,
                       [&result](beast::error_code ec) { result = ec; });
  if (!d.pump_until(clock_type::now() + std::chrono::seconds(10),
                    [&] { return result.has_value(); })) {
    d.shutdown_socket();
    throw std::runtime_error("websocket handshake timed out");
  }
  if (*result == websocket::error::upgrade_declined) {
    beast::error_code ignored;
    beast::get_lowest_layer(d.ws).socket().close(ignored);
    throw ws_upgrade_refused(static_cast<int>(res.result_int()), res.body());
  }
  if (*result) fail("websocket handshake failed", *result);
  d.start_read();
}

ws_client::~ws_client() {
  if (!impl_) return;
  try {
    close();
  } catch (...) {
  }
  impl_->shutdown_socket();
}

ws_client::ws_client(ws_client&&) noexcept = default;
ws_client& ws_client::operator=(ws_client&&) noexcept = default;

void ws_client::send(const json::value& frame) {
  impl_->write(json::serialize(frame), true);
}

void ws_client::send_text(std::string_view raw) {
  impl_->write(raw, true);
}

void ws_client::send_binary(std::string_view raw) {
  impl_->write(raw, false);
}

std::string ws_client::read_raw(std::chrono::milliseconds timeout) {
  return impl_->next_text(timeout);
}

json::value ws_client::read(std::chrono::milliseconds timeout) {
  auto text = impl_->next_text(timeout);
  beast::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw std::runtime_error("websocket frame is not JSON: " + text);
  return v;
}

std::optional<json::value> ws_client::try_read(std::chrono::milliseconds timeout) {
  auto f = impl_->next_frame(timeout);
  if (!f) return std::nullopt;
  if (!f->text) throw std::runtime_error("received a binary websocket frame");
  beast::error_code ec;
  auto v = json::parse(f->data, ec);
  if (ec) throw std::runtime_error("websocket frame is not JSON: " + f->data);
  return v;
}

json::value ws_client::read_until(const std::function<bool(const json::object&)>& pred,
                                  std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto f = impl_->next_frame(left);
    if (!f) {
      std::string s = "timed out after " + std::to_string(timeout.count()) +
                      " ms in read_until; skipped frames:";
      for (const auto& v : impl_->skipped) s += "\n  " + json::serialize(v);
      throw std::runtime_error(s);
    }
    beast::error_code ec;
    auto v = f->text ? json::parse(f->data, ec) : json::value(f->data);
    if (ec) v = json::value(f->data);
    if (v.is_object() && pred(v.as_object())) return v;
    impl_->skipped.push_back(std::move(v));
  }
}

json::value ws_client::read_type(std::string_view type, std::chrono::milliseconds timeout) {
  return read_until(
      [type](const json::object& o) {
        auto it = o.find("type");
        return it != o.end() && it->value().is_string() && it->value().as_string() == type;
      },
      timeout);
}

std::vector<json::value>& ws_client::skipped() {
  return impl_->skipped;
}

int ws_client::wait_closed(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    d.pump_until(deadline, [&] { return !d.inbox.empty() || d.st != impl::state::open; });
    while (!d.inbox.empty()) {
      auto f = std::move(d.inbox.front());
      d.inbox.pop_front();
      beast::error_code ec;
      auto v = f.text ? json::parse(f.data, ec) : json::value(f.data);
      if (ec) v = json::value(f.data);
      d.skipped.push_back(std::move(v));
    }
    if (d.st == impl::state::closed) return d.close_code;
    if (d.st == impl::state::dropped) return -1;
    if (clock_type::now() >= deadline) {
      throw std::runtime_error("timed out after " + std::to_string(timeout.count()) +
                               " ms waiting for the server to close the websocket");
    }
  }
}

std::string ws_client::close_reason() const {
  return impl_->close_reason;
}

void ws_client::close() {
  auto& d = *impl_;
  if (d.st != impl::state::open) return;
  std::optional<beast::error_code> result;
  d.ws.async_close(websocket::close_code::normal, [&result](beast::error_code ec) { result = ec; });
  bool done = d.pump_until(clock_type::now() + std::chrono::seconds(2),
                           [&] { return result.has_value() && !d.read_pending; });
  if (!done) {
    d.shutdown_socket();
    d.pump_until(clock_type::now() + std::chrono::seconds(1), [&] { return result.has_value(); });
  }
  if (d.st == impl::state::open) d.st = impl::state::closed;
}

bool ws_client::is_open() const {
  return impl_->st == impl::state::open && impl_->ws.is_open();
}

}  // namespace redoubt::test
