#include "support/tls_test_listener.hpp"

#include <openssl/ssl.h>

#include <chrono>
#include <thread>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/child_process.hpp"
#include "support/process_util.hpp"

namespace redoubt::test {
namespace asio = boost::asio;

struct tls_test_listener::impl {
  impl(std::string_view dir_prefix, connection_handler handler)
      : dir(dir_prefix), serve(std::move(handler)) {}

  temp_dir dir;
  std::string ca_file;
  connection_handler serve;
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor{io};
  unsigned short port = 0;
  std::thread thread;
};

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve_connection(tls_test_listener::impl* l, asio::ip::tcp::socket sock) {
  tls_test_listener::stream stream(boost::beast::tcp_stream(std::move(sock)), l->tls);
  stream.next_layer().expires_after(std::chrono::seconds(10));
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, token);
  if (ec) co_return;
  stream.next_layer().expires_never();
  auto session = l->serve(stream);  // a named local: g++ 12 and temporaries in co_await
  co_await std::move(session);
}

asio::awaitable<void> accept_loop(tls_test_listener::impl* l) {
  for (;;) {
    auto [ec, sock] = co_await l->acceptor.async_accept(token);
    if (ec) co_return;
    asio::co_spawn(l->io, serve_connection(l, std::move(sock)), asio::detached);
  }
}

// TLS 1.3 only, like every listener of Redoubt itself.
void configure_tls(asio::ssl::context& tls, const std::string& tls_dir) {
  tls.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                  asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                  asio::ssl::context::no_tlsv1_2);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_3_VERSION);
  tls.use_certificate_chain_file(tls_dir + "/server.crt");
  tls.use_private_key_file(tls_dir + "/server.key", asio::ssl::context::pem);
}

}  // namespace

tls_test_listener::tls_test_listener(std::string_view dir_prefix, connection_handler serve)
    : impl_(std::make_unique<impl>(dir_prefix, std::move(serve))) {
  generate_dev_tls(impl_->dir.file("tls"));
  impl_->ca_file = impl_->dir.file("tls/ca.crt");
  configure_tls(impl_->tls, impl_->dir.file("tls"));
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([l = impl_.get()] { l->io.run(); });
}

tls_test_listener::~tls_test_listener() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short tls_test_listener::port() const {
  return impl_->port;
}
const std::string& tls_test_listener::ca_file() const {
  return impl_->ca_file;
}
const std::string& tls_test_listener::dir() const {
  return impl_->dir.path();
}

}  // namespace redoubt::test
