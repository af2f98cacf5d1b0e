#include "support/smtp_sink.hpp"

#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/tls_test_listener.hpp"

namespace redoubt::test {
namespace asio = boost::asio;

struct smtp_sink::impl {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<smtp_message> messages;
  // Last: destroyed (thread stopped) before the state its connections use.
  std::unique_ptr<tls_test_listener> listener;
};

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);
using tls_socket = tls_test_listener::stream;

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
  return a == std::string::npos || b == std::string::npos || b < a ? arg
                                                                   : arg.substr(a + 1, b - a - 1);
}

asio::awaitable<void> serve(smtp_sink::impl* s, tls_socket& stream) {
  asio::streambuf buf(1 << 20);
  if (!co_await reply(stream, "220 localhost redoubt test sink")) co_return;
  smtp_message current;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(stream, buf, "\r\n", token);
    if (ec) co_return;
    std::string line(asio::buffers_begin(buf.data()),
                     asio::buffers_begin(buf.data()) + static_cast<long>(n) - 2);
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
      std::string raw(asio::buffers_begin(buf.data()),
                      asio::buffers_begin(buf.data()) + static_cast<long>(dn) - 3);
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

}  // namespace

smtp_sink::smtp_sink() : impl_(std::make_shared<impl>()) {
  impl_->listener = std::make_unique<tls_test_listener>(
      "redoubt-smtp-", [s = impl_.get()](tls_socket& stream) { return serve(s, stream); });
}

smtp_sink::~smtp_sink() = default;

std::string smtp_sink::url() const {
  return "smtps://localhost:" + std::to_string(impl_->listener->port());
}
const std::string& smtp_sink::ca_file() const {
  return impl_->listener->ca_file();
}

std::vector<smtp_message> smtp_sink::messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

bool smtp_sink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->messages.size() >= n; });
}

}  // namespace redoubt::test
