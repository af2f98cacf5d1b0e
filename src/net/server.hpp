// The network edge: TLS 1.3 listener, HTTP/1.1 sessions and WebSocket sessions (Beast).
// Nothing outside net/ sees a Beast type. One io_context run by several threads; each
// connection lives on its own strand.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "api/metrics.hpp"
#include "api/router.hpp"
#include "base/config.hpp"

namespace redoubt::net {

// TLS 1.3 only, server certificate and key from files; throws with a clear message on error.
boost::asio::ssl::context make_server_tls_context(const tls_settings& tls);

class server {
 public:
  server(boost::asio::io_context& io, boost::asio::ssl::context& tls, api::router& router,
         const settings& config, api::metrics& stats);
  ~server();
  // Binds and starts accepting; throws when the address cannot be bound.
  void start();
  // Stops accepting new connections.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace redoubt::net
