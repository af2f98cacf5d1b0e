#include "db/pg_internal.hpp"

namespace redoubt::db {

// ---------------------------------------------------------------------------------------------
// pool

namespace {

// What a waiter in acquire() is handed.
struct grant {
  enum kind_t { connection_ready, open_new, timed_out } kind = timed_out;
  std::unique_ptr<connection> conn;
};

// Type-erased completion of a waiting acquire(), bound to the waiter's own executor.
// (asio::any_completion_handler in Boost 1.81 recursively re-wraps itself here.)
struct grant_handler_base {
  virtual ~grant_handler_base() = default;
  virtual void post(grant g) = 0;  // resumes on the waiter's executor, never inline
};

template <class Handler>
struct grant_handler_impl final : grant_handler_base {
  grant_handler_impl(Handler h, asio::any_io_executor e)
      : handler(std::move(h)), ex(std::move(e)) {}
  void post(grant g) override {
    asio::post(
        ex, [h = std::move(handler), g = std::move(g)]() mutable { std::move(h)(std::move(g)); });
  }
  Handler handler;
  asio::any_io_executor ex;
};

using grant_handler = std::unique_ptr<grant_handler_base>;

struct waiter {
  explicit waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  grant_handler handler;
  asio::steady_timer timer;
};

void complete(grant_handler h, grant g) {
  h->post(std::move(g));
}

}  // namespace

struct pool::impl {
  impl(asio::any_io_executor e, database_settings s) : ex(std::move(e)), settings(std::move(s)) {}

  asio::any_io_executor ex;
  database_settings settings;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<connection>> idle;
  std::deque<std::shared_ptr<waiter>> waiters;
  int size = 0;  // open connections plus those being opened
  int in_use = 0;
  std::uint64_t acquired_total = 0;
  std::uint64_t acquire_timeouts_total = 0;
  std::uint64_t connect_failures_total = 0;

  // Under mu. Hands a free slot (size already counted) to the first waiter, if any.
  std::shared_ptr<waiter> pop_waiter() {
    if (waiters.empty()) return nullptr;
    auto w = std::move(waiters.front());
    waiters.pop_front();
    w->timer.cancel();  // started under mu, so this cannot race its start
    return w;
  }
};

pool::pool(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
pool::~pool() = default;

std::shared_ptr<pool> pool::create(boost::asio::any_io_executor ex, database_settings settings) {
  if (settings.pool_size < 1) settings.pool_size = 1;
  return std::shared_ptr<pool>(
      new pool(std::make_unique<impl>(std::move(ex), std::move(settings))));
}

pool_stats pool::stats() const {
  std::lock_guard lk(impl_->mu);
  return {impl_->size,
          impl_->in_use,
          static_cast<int>(impl_->waiters.size()),
          impl_->acquired_total,
          impl_->acquire_timeouts_total,
          impl_->connect_failures_total};
}

awaitable<result<lease>> pool::acquire() {
  auto self = shared_from_this();  // the pool outlives every pending acquire()
  auto& p = *impl_;
  auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(p.settings.acquire_timeout);
  std::weak_ptr<pool> weak = self;

  for (;;) {
    // Decides under the lock, and enqueues under the same lock if nothing is free.
    auto init = [&p, weak, deadline](auto handler) {
      // The waiter's own executor, where it must be resumed.
      asio::any_io_executor wex = asio::get_associated_executor(handler, p.ex);
      grant_handler h = std::make_unique<grant_handler_impl<decltype(handler)>>(std::move(handler),
                                                                                std::move(wex));
      std::vector<std::unique_ptr<connection>> dropped;
      std::unique_lock lk(p.mu);
      grant g;
      bool decided = false;
      while (!p.idle.empty()) {
        auto c = std::move(p.idle.back());
        p.idle.pop_back();
        if (c->impl_->still_alive()) {
          g = {grant::connection_ready, std::move(c)};
          decided = true;
          break;
        }
        --p.size;
        dropped.push_back(std::move(c));
      }
      if (!decided && p.size < p.settings.pool_size) {
        ++p.size;
        g.kind = grant::open_new;
        decided = true;
      }
      if (!decided && clock::now() >= deadline) decided = true;  // timed_out
      if (decided) {
        lk.unlock();
        complete(std::move(h), std::move(g));
        return;
      }
      auto w = std::make_shared<waiter>(p.ex);
      w->handler = std::move(h);
      w->timer.expires_at(deadline);
      p.waiters.push_back(w);
      w->timer.async_wait([weak, w](boost::system::error_code) {
        auto owner = weak.lock();
        if (!owner) return;
        auto& q = *owner->impl_;
        std::unique_lock lk(q.mu);
        auto it = std::find(q.waiters.begin(), q.waiters.end(), w);
        if (it == q.waiters.end()) return;  // already handed something
        q.waiters.erase(it);
        auto h = std::move(w->handler);
        lk.unlock();
        complete(std::move(h), grant{});
      });
    };
    grant g = co_await asio::async_initiate<decltype(use_awaitable), void(grant)>(std::move(init),
                                                                                  use_awaitable);

    switch (g.kind) {
      case grant::connection_ready: {
        std::lock_guard lk(p.mu);
        ++p.in_use;
        ++p.acquired_total;
        co_return lease(self, std::move(g.conn));
      }
      case grant::open_new: {
        auto c = co_await connection::connect(p.ex, p.settings);
        if (c) {
          std::lock_guard lk(p.mu);
          ++p.in_use;
          ++p.acquired_total;
          co_return lease(self, std::move(*c));
        }
        std::shared_ptr<waiter> next;
        {
          std::lock_guard lk(p.mu);
          ++p.connect_failures_total;
          // Let the next waiter try (and fail fast) instead of idling until its timeout.
          next = p.pop_waiter();
          if (!next) --p.size;
        }
        if (next) complete(std::move(next->handler), grant{grant::open_new, {}});
        co_return unavailable("database unavailable");
      }
      case grant::timed_out: {
        std::lock_guard lk(p.mu);
        ++p.acquire_timeouts_total;
        co_return unavailable("database unavailable: no connection free");
      }
    }
  }
}

void pool::give_back(std::unique_ptr<connection> conn) noexcept {
  auto& p = *impl_;
  std::shared_ptr<waiter> next;
  grant g;
  {
    std::lock_guard lk(p.mu);
    --p.in_use;
    bool reusable = conn && conn->impl_->healthy && PQstatus(conn->impl_->conn) == CONNECTION_OK &&
                    PQtransactionStatus(conn->impl_->conn) == PQTRANS_IDLE;
    next = p.pop_waiter();
    if (reusable) {
      if (next) {
        g = {grant::connection_ready, std::move(conn)};  // acquire() counts it
      } else {
        p.idle.push_back(std::move(conn));
      }
    } else {
      // A broken or mid-transaction connection is closed; its slot goes to a waiter.
      if (next) {
        g.kind = grant::open_new;
      } else {
        --p.size;
      }
    }
  }
  if (next) {
    complete(std::move(next->handler), std::move(g));
  }
  conn.reset();  // PQfinish outside the lock
}

// ---------------------------------------------------------------------------------------------
// lease

lease::lease(std::shared_ptr<pool> owner, std::unique_ptr<connection> conn)
    : owner_(std::move(owner)), conn_(std::move(conn)) {}

lease::lease(lease&& other) noexcept
    : owner_(std::move(other.owner_)), conn_(std::move(other.conn_)) {}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

lease::~lease() {
  release();
}

void lease::release() noexcept {
  if (owner_ && conn_) owner_->give_back(std::move(conn_));
  conn_.reset();
  owner_.reset();
}

}  // namespace redoubt::db
