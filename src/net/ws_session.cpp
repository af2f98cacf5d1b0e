#include <deque>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "api/errors.hpp"
#include "api/ws_gateway.hpp"
#include "base/log.hpp"
#include "net/session_common.hpp"

namespace redoubt::net {
namespace websocket = beast::websocket;

namespace {

std::shared_ptr<const std::string> binary_refused_frame() {
  static const auto frame = std::make_shared<const std::string>(proto::server::encode(api::ws_error_frame(
      std::nullopt, make_error(errc::invalid_argument, "binary frames are not supported"))));
  return frame;
}

// One WebSocket connection. All members are used on the connection's strand only; the gateway
// posts every call onto that strand. One write in flight at a time, from a bounded queue.
class ws_session final : public api::ws_link, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tls_stream stream, session_env env)
      : ws_(std::move(stream)), env_(env), strand_(ws_.get_executor()) {}

  asio::awaitable<void> run(beast::http::request<beast::http::string_body> req, chat::session_info session,
                            std::string ip) {
    const auto& limits = env_.config.limits;
    // Larger frames: close ws_close_code::message_too_big before buffering.
    ws_.read_message_max(limits.max_ws_message_bytes);
    websocket::stream_base::timeout opt{};
    opt.handshake_timeout = limits.tls_handshake_timeout;
    opt.idle_timeout = limits.ws_idle_timeout;  // pings at half of it; no answer -> closed
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::server, "redoubt");
      res.set(beast::http::field::strict_transport_security, "max-age=63072000; includeSubDomains");
    }));
    auto [acc_ec] = co_await ws_.async_accept(req, token);
    if (acc_ec) co_return;

    env_.stats.ws_open.fetch_add(1);
    auto user_id = session.account.id;
    auto& ctx = env_.router.context();
    const api::gateway_context gateway{ctx.config, ctx.hub, ctx.chat, ctx.stats, env_.router.message_limiter()};
    gateway_ = std::make_shared<api::ws_gateway>(gateway, strand_, *this, std::move(session), ip);
    gateway_->open();
    log::info("ws_open", {{"user_id", user_id}, {"ip", ip}});

    beast::flat_buffer buffer;
    bool oversized = false;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer, token);
      if (ec) {
        if (ec == websocket::error::message_too_big) {
          // Beast has sent close 1009 before reading the payload; keep the rest of it from
          // turning into a reset that would destroy that close frame.
          log::info("ws_message_too_big", {{"user_id", user_id}, {"ip", ip}});
          oversized = true;
        }
        break;
      }
      if (!ws_.got_text()) {
        buffer.consume(buffer.size());
        send(binary_refused_frame());
        continue;
      }
      auto text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      {
        in_flight busy(env_.stats);
        co_await gateway_->on_text(std::move(text));
      }
      if (closing_) break;
    }
    gateway_->closed();
    env_.stats.ws_open.fetch_sub(1);
    if (oversized)
      co_await lingering_close(beast::get_lowest_layer(ws_), limits.lingering_close_timeout);
    log::info("ws_close", {{"user_id", user_id}, {"ip", ip}});
    // Let a pending close handshake finish before the stream goes away.
    const auto give_up = std::chrono::steady_clock::now() + limits.ws_close_timeout;
    while ((writing_ || close_in_flight_) && std::chrono::steady_clock::now() < give_up) {
      asio::steady_timer t(strand_, std::chrono::milliseconds(20));
      co_await t.async_wait(token);
    }
  }

  bool send(std::shared_ptr<const std::string> frame) override {
    if (closing_) return false;
    const auto& limits = env_.config.limits;
    if (queue_.size() >= limits.max_ws_send_queue_frames ||
        queued_bytes_ + frame->size() > limits.max_ws_send_queue_bytes) {
      // Slow consumer: drop the connection instead of buffering without bound.
      close(api::ws_close_code::slow_consumer, "slow consumer");
      return false;
    }
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(strand_, [self = shared_from_this()] { return self->write_loop(); }, asio::detached);
    }
    return true;
  }

  void close(int code, std::string reason) override {
    if (closing_) return;
    closing_ = true;
    close_in_flight_ = true;
    asio::co_spawn(
        strand_,
        [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
          return self->do_close(code, std::move(reason));
        },
        asio::detached);
  }

 private:
  asio::awaitable<void> do_close(int code, std::string reason) {
    auto self = shared_from_this();
    websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
    auto [ec] = co_await ws_.async_close(cr, token);
    (void)ec;
    close_in_flight_ = false;
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    in_flight busy(env_.stats);
    while (!queue_.empty() && !closing_) {
      auto frame = queue_.front();
      ws_.text(true);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(*frame), token);
      queued_bytes_ -= frame->size();
      queue_.pop_front();
      if (ec) break;
    }
    writing_ = false;
  }

  websocket::stream<tls_stream> ws_;
  session_env env_;
  asio::any_io_executor strand_;
  std::shared_ptr<api::ws_gateway> gateway_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool close_in_flight_ = false;
};

}  // namespace

asio::awaitable<void> run_ws_session(tls_stream stream, beast::http::request<beast::http::string_body> req,
                                     chat::session_info session, std::string remote_ip, session_env env) {
  auto s = std::make_shared<ws_session>(std::move(stream), env);
  co_await s->run(std::move(req), std::move(session), std::move(remote_ip));
}

}  // namespace redoubt::net
