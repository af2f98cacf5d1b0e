// A TLS 1.3 server on 127.0.0.1 for the test stand-ins of external services (the HTTPS and
// SMTPS email sinks): its own dev CA and "localhost" certificate (scripts/dev-tls.sh) in a temp
// dir, its own io_context on its own thread. Each accepted connection gets the TLS handshake
// (10 s limit, then no timeout) and is handed to `serve`, one coroutine per connection.
// Destruction stops the thread, drops open connections and removes the directory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace redoubt::test {

class tls_test_listener {
 public:
  using stream = boost::asio::ssl::stream<boost::beast::tcp_stream>;
  // Serves one connection after the handshake; the stream lives until the coroutine returns.
  // Runs on the listener's thread: shared state needs its own lock.
  using connection_handler = std::function<boost::asio::awaitable<void>(stream&)>;

  tls_test_listener(std::string_view dir_prefix, connection_handler serve);
  ~tls_test_listener();
  tls_test_listener(const tls_test_listener&) = delete;
  tls_test_listener& operator=(const tls_test_listener&) = delete;

  unsigned short port() const;
  const std::string& ca_file() const;  // the CA that signed the listener's certificate
  const std::string& dir() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace redoubt::test
