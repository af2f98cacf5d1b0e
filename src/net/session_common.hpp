// Shared between the HTTP and WebSocket session translation units (net/ internal).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "api/metrics.hpp"
#include "api/router.hpp"
#include "base/config.hpp"

namespace redoubt::net {
namespace asio = boost::asio;
namespace beast = boost::beast;

// The completion token of every session operation: errors come back as values.
inline constexpr auto token = asio::as_tuple(asio::use_awaitable);

using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct session_env {
  boost::asio::ssl::context& tls;
  api::router& router;
  const settings& config;
  api::metrics& stats;
};

// Counts a piece of work (a request, a WebSocket frame handled or written) while it is in
// flight, for the graceful stop (api::metrics::work_in_flight).
class in_flight {
 public:
  explicit in_flight(api::metrics& m) : m_(m) { m_.work_in_flight.fetch_add(1); }
  ~in_flight() { m_.work_in_flight.fetch_sub(1); }
  in_flight(const in_flight&) = delete;
  in_flight& operator=(const in_flight&) = delete;

 private:
  api::metrics& m_;
};

// Closes a connection whose peer may still be sending (an oversized request or frame): stops
// writing, then reads and discards for limits.lingering_close_timeout so that our last
// response or close frame is not destroyed by a TCP reset, then closes.
boost::asio::awaitable<void> lingering_close(boost::beast::tcp_stream& stream,
                                             std::chrono::seconds timeout);

// Runs one accepted connection until it closes (HTTP keep-alive, maybe upgraded to WebSocket).
boost::asio::awaitable<void> run_http_session(boost::asio::ip::tcp::socket socket, session_env env);

// Takes over an upgraded connection; returns when the WebSocket closes.
boost::asio::awaitable<void> run_ws_session(tls_stream stream,
                                            boost::beast::http::request<boost::beast::http::string_body> req,
                                            chat::session_info session, std::string remote_ip,
                                            session_env env);

}  // namespace redoubt::net
