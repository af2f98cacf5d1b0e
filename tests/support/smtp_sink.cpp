#include "support/smtp_sink.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/process_util.hpp"
#include "support/server_process.hpp"

namespace redoubt::test {
namespace asio = boost::asio;

struct smtp_sink::impl {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor{io};
  std::thread thread;
  std::string dir;
  std::string ca_file;
  unsigned short port = 0;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<smtp_message> messages;
};

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;

asio::awaitable<bool> reply(tls_socket& s, std::string line) {
  line += "\r\n";
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(line), token);
  co_return !ec;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string angle_address(const std::string& arg) {
  auto a = arg.find('<');
  auto b = arg.find('>');
  return a == std::string::npos || b == std::string::npos || b < a ? arg : arg.substr(a + 1, b - a - 1);
}

asio::awaitable<void> serve(smtp_sink::impl* s, asio::ip::tcp::socket sock) {
  tls_socket stream(std::move(sock), s->tls);
  auto [hs] = co_await stream.async_handshake(asio::ssl::stream_base::server, token);
  if (hs) co_return;
  asio::streambuf buf(1 << 20);
  if (!co_await reply(stream, "220 localhost redoubt test sink")) co_return;
  smtp_message current;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(stream, buf, "\r\n", token);
    if (ec) co_return;
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n) - 2);
    buf.consume(n);
    auto verb = upper(line.substr(0, line.find(' ')));
    if (verb == "EHLO" || verb == "HELO") {
      if (!co_await reply(stream, "250-localhost\r\n250-8BITMIME\r\n250 SIZE 1048576")) co_return;
    } else if (upper(line).rfind("MAIL FROM:", 0) == 0) {
      current = smtp_message{};
      current.mail_from = angle_address(line.substr(10));
      if (!co_await reply(stream, "250 ok")) co_return;
    } else if (upper(line).rfind("RCPT TO:", 0) == 0) {
      current.rcpt_to.push_back(angle_address(line.substr(8)));
      if (!co_await reply(stream, "250 ok")) co_return;
    } else if (verb == "DATA") {
      if (!co_await reply(stream, "354 end with <CRLF>.<CRLF>")) co_return;
      auto [dec, dn] = co_await asio::async_read_until(stream, buf, "\r\n.\r\n", token);
      if (dec) co_return;
      std::string raw(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(dn) - 3);
      buf.consume(dn);
      // Undo dot-stuffing: a line starting with ".." carried a leading ".".
      std::string data;
      std::size_t i = 0;
      while (i < raw.size()) {
        auto e = raw.find("\r\n", i);
        if (e == std::string::npos) e = raw.size();
        auto l = raw.substr(i, e - i);
        if (l.rfind("..", 0) == 0) l.erase(0, 1);
        data += l;
        data += "\r\n";
        i = e + 2;
      }
      current.data = std::move(data);
      {
        std::lock_guard lock(s->mutex);
        s->messages.push_back(current);
      }
      s->changed.notify_all();
      if (!co_await reply(stream, "250 queued")) co_return;
    } else if (verb == "QUIT") {
      co_await reply(stream, "221 bye");
      co_return;
    } else if (verb == "RSET" || verb == "NOOP") {
      if (!co_await reply(stream, "250 ok")) co_return;
    } else {
      if (!co_await reply(stream, "502 not implemented")) co_return;
    }
  }
}

asio::awaitable<void> accept_loop(smtp_sink::impl* s) {
  for (;;) {
    auto [ec, sock] = co_await s->acceptor.async_accept(token);
    if (ec) co_return;
    asio::co_spawn(s->io, serve(s, std::move(sock)), asio::detached);
  }
}

}  // namespace

smtp_sink::smtp_sink() : impl_(std::make_shared<impl>()) {
  impl_->dir = make_temp_dir("redoubt-smtp-");
  auto [rc, out] = run_program({std::string(REDOUBT_SOURCE_DIR) + "/scripts/dev-tls.sh", impl_->dir + "/tls"});
  if (rc != 0) throw std::runtime_error("dev-tls.sh failed: " + out);
  impl_->ca_file = impl_->dir + "/tls/ca.crt";
  SSL_CTX_set_min_proto_version(impl_->tls.native_handle(), TLS1_3_VERSION);
  impl_->tls.use_certificate_chain_file(impl_->dir + "/tls/server.crt");
  impl_->tls.use_private_key_file(impl_->dir + "/tls/server.key", asio::ssl::context::pem);
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([s = impl_] { s->io.run(); });
}

smtp_sink::~smtp_sink() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::error_code ec;
  std::filesystem::remove_all(impl_->dir, ec);
}

std::string smtp_sink::url() const { return "smtps://localhost:" + std::to_string(impl_->port); }
const std::string& smtp_sink::ca_file() const { return impl_->ca_file; }

std::vector<smtp_message> smtp_sink::messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

bool smtp_sink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->messages.size() >= n; });
}

}  // namespace redoubt::test
