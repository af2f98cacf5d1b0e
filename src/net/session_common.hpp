// Shared between the HTTP and WebSocket session translation units (net/ internal).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "api/metrics.hpp"
#include "api/router.hpp"
#include "base/config.hpp"

namespace redoubt::net {

using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct session_env {
  boost::asio::ssl::context& tls;
  api::router& router;
  const settings& config;
  api::metrics& stats;
};

// Closes a connection whose peer may still be sending (an oversized request or frame): stops
// writing, then reads and discards for a short while so that our last response or close frame
// is not destroyed by a TCP reset, then closes.
boost::asio::awaitable<void> lingering_close(boost::beast::tcp_stream& stream);

// Runs one accepted connection until it closes (HTTP keep-alive, maybe upgraded to WebSocket).
boost::asio::awaitable<void> run_http_session(boost::asio::ip::tcp::socket socket, session_env env);

// Takes over an upgraded connection; returns when the WebSocket closes.
boost::asio::awaitable<void> run_ws_session(tls_stream stream,
                                            boost::beast::http::request<boost::beast::http::string_body> req,
                                            chat::session_info session, std::string remote_ip,
                                            session_env env);

}  // namespace redoubt::net
