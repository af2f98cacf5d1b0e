#include <map>
#include <memory>
#include <mutex>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "base/log.hpp"
#include "net/server.hpp"
#include "net/session_common.hpp"

namespace redoubt::net {
using asio::ip::tcp;

namespace {

// Open connections per client address, so that one address cannot fill max_connections alone.
// Shared with the sessions' completion handlers, which may run after the server is gone.
class connections_by_ip {
 public:
  explicit connections_by_ip(std::size_t max_per_ip) : max_(max_per_ip) {}

  bool try_open(const asio::ip::address& a) {
    std::lock_guard lock(mu_);
    auto& n = open_[a];
    if (n >= max_) return false;
    ++n;
    return true;
  }
  void closed(const asio::ip::address& a) {
    std::lock_guard lock(mu_);
    auto it = open_.find(a);
    if (it != open_.end() && --it->second == 0) open_.erase(it);
  }

 private:
  std::size_t max_;
  std::mutex mu_;
  std::map<asio::ip::address, std::size_t> open_;
};

}  // namespace

struct server::impl {
  asio::io_context& io;
  session_env env;
  tcp::acceptor acceptor;
  std::vector<asio::ip::network_v4> blocked_v4;
  std::vector<asio::ip::network_v6> blocked_v6;
  std::shared_ptr<connections_by_ip> per_ip;

  impl(asio::io_context& io_, session_env e)
      : io(io_),
        env(e),
        acceptor(io_),
        per_ip(std::make_shared<connections_by_ip>(env.config.limits.max_connections_per_ip)) {
    for (const auto& cidr : env.config.access.blocked_networks) {
      boost::system::error_code ec;
      auto v4 = asio::ip::make_network_v4(cidr, ec);
      if (!ec) {
        blocked_v4.push_back(v4);
        continue;
      }
      auto v6 = asio::ip::make_network_v6(cidr, ec);
      if (ec) throw std::runtime_error("access.blocked_networks: '" + cidr + "' is not a network (CIDR)");
      blocked_v6.push_back(v6);
    }
  }

  bool blocked(const asio::ip::address& a) const {
    if (a.is_v4()) {
      for (const auto& n : blocked_v4)
        if (asio::ip::make_network_v4(a.to_v4(), n.prefix_length()).canonical() == n.canonical()) return true;
    } else {
      auto v6 = a.to_v6();
      if (v6.is_v4_mapped()) return blocked(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
      for (const auto& n : blocked_v6)
        if (asio::ip::make_network_v6(v6, n.prefix_length()).canonical() == n.canonical()) return true;
    }
    return false;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), token);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        log::warn("accept_failed", {{"error", ec.message()}});
        // Out of file descriptors: back off briefly instead of spinning.
        asio::steady_timer t(io, std::chrono::milliseconds(50));
        co_await t.async_wait(token);
        continue;
      }
      auto& stats = env.stats;
      boost::system::error_code peer_ec;
      auto peer = socket.remote_endpoint(peer_ec);
      if (peer_ec || blocked(peer.address())) {
        boost::system::error_code ignored;
        socket.close(ignored);
        stats.blocked_connections.fetch_add(1);
        continue;
      }
      const auto address = peer.address();
      if (static_cast<std::size_t>(stats.connections_open.load()) >= env.config.limits.max_connections ||
          !per_ip->try_open(address)) {
        boost::system::error_code ignored;
        socket.close(ignored);
        stats.rate_limited.fetch_add(1);
        continue;
      }
      stats.connections_total.fetch_add(1, std::memory_order_relaxed);
      stats.connections_open.fetch_add(1);
      auto ex = socket.get_executor();
      asio::co_spawn(ex, run_http_session(std::move(socket), env), [&stats, per_ip = per_ip, address](std::exception_ptr e) {
        per_ip->closed(address);
        stats.connections_open.fetch_sub(1);
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("session_crashed", {{"what", ex.what()}});
          }
        }
      });
    }
  }
};

server::server(asio::io_context& io, asio::ssl::context& tls, api::router& router, const settings& config,
               api::metrics& stats)
    : impl_(std::make_unique<impl>(io, session_env{tls, router, config, stats})) {}

server::~server() = default;

void server::start() {
  const auto& s = impl_->env.config.server;
  tcp::endpoint ep(asio::ip::make_address(s.listen_address), s.listen_port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(1024);
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  log::info("listening", {{"address", s.listen_address}, {"port", s.listen_port}});
}

void server::stop() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace redoubt::net
