#include <openssl/ssl.h>

#include <stdexcept>

#include "net/server.hpp"

namespace redoubt::net {
namespace ssl = boost::asio::ssl;

ssl::context make_server_tls_context(const tls_settings& tls) {
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  // TLS 1.3 only: no downgrade to older protocol versions, on every listener we own.
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1)
    throw std::runtime_error("cannot restrict TLS to version 1.3");
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections keep no read/write buffers: matters at tens of thousands of sockets.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error("cannot load TLS certificate '" + tls.cert_file + "': " + ec.message());
  ctx.use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load TLS key '" + tls.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("TLS key does not match the certificate");
  return ctx;
}

}  // namespace redoubt::net
