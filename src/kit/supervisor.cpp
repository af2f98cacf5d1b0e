#include "kit/supervisor.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"

namespace redoubt::kit {
namespace asio = boost::asio;

namespace {

struct loop_record {
  loop_record(std::string n, asio::strand<asio::any_io_executor> s, supervisor::loop_factory f)
      : name(std::move(n)), strand(s), backoff(s), make_loop(std::move(f)) {}
  std::string name;
  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer backoff;  // used on `strand` only
  supervisor::loop_factory make_loop;
  std::atomic<std::uint64_t> failures{0};
};

}  // namespace

struct supervisor::state {
  asio::any_io_executor ex;
  std::chrono::milliseconds restart_backoff;
  std::atomic<bool> stopped{false};
  mutable std::mutex mu;
  mutable std::condition_variable ended;
  std::deque<loop_record> loops;  // stable addresses; guarded by mu for insertion
  int running = 0;                // guarded by mu
  std::set<std::shared_ptr<asio::steady_timer>> pauses;  // guarded by mu; cancelled by stop()
};

namespace {

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Awaits one run of the loop; returns the exception it ended with, if any.
asio::awaitable<std::exception_ptr> run_once(loop_record* loop) {
  try {
    co_await loop->make_loop();
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

asio::awaitable<void> supervise(std::shared_ptr<supervisor::state> st, loop_record* loop) {
  for (;;) {
    auto failure = co_await run_once(loop);
    if (!failure) break;
    auto count = loop->failures.fetch_add(1) + 1;
    const bool restart = !st->stopped.load();
    log::error("loop_failed", {{"loop", loop->name},
                               {"error", describe(failure)},
                               {"failures", count},
                               {"restart", restart}});
    if (!restart) break;
    loop->backoff.expires_after(st->restart_backoff);
    co_await loop->backoff.async_wait(asio::as_tuple(asio::use_awaitable));
    if (st->stopped.load()) break;
  }
}

void loop_ended(supervisor::state& st) {
  std::lock_guard lock(st.mu);
  --st.running;
  st.ended.notify_all();
}

}  // namespace

supervisor::supervisor(asio::any_io_executor ex, std::chrono::milliseconds restart_backoff)
    : state_(std::make_shared<state>()) {
  state_->ex = std::move(ex);
  state_->restart_backoff = restart_backoff;
}

supervisor::~supervisor() {
  stop();
}

void supervisor::spawn(std::string name, loop_factory make_loop) {
  loop_record* loop = nullptr;
  {
    std::lock_guard lock(state_->mu);
    loop = &state_->loops.emplace_back(std::move(name), asio::make_strand(state_->ex),
                                       std::move(make_loop));
    ++state_->running;
  }
  auto st = state_;
  // supervise() catches what a loop throws; anything else still ends up here, logged.
  asio::co_spawn(loop->strand, supervise(st, loop), [st, loop](std::exception_ptr e) {
    if (e) log::error("loop_supervisor_failed", {{"loop", loop->name}, {"error", describe(e)}});
    loop_ended(*st);
  });
}

void supervisor::stop() {
  std::lock_guard lock(state_->mu);
  if (state_->stopped.exchange(true)) return;
  for (auto& loop : state_->loops)
    asio::post(loop.strand, [st = state_, l = &loop] { l->backoff.cancel(); });
  for (const auto& timer : state_->pauses)
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
}

asio::awaitable<bool> supervisor::pause(std::chrono::milliseconds d) {
  // A named local: g++ 12 mishandles co_await inside the arguments of a call.
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, d);
  {
    // Registered before the stop flag is read, so that a stop() in between still cancels it.
    std::lock_guard lock(state_->mu);
    if (state_->stopped.load()) co_return false;
    state_->pauses.insert(timer);
  }
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(state_->mu);
  state_->pauses.erase(timer);
  co_return !state_->stopped.load();
}

std::uint64_t supervisor::failures(std::string_view name) const {
  std::lock_guard lock(state_->mu);
  std::uint64_t n = 0;
  for (const auto& loop : state_->loops)
    if (name.empty() || loop.name == name) n += loop.failures.load();
  return n;
}

int supervisor::running() const {
  std::lock_guard lock(state_->mu);
  return state_->running;
}

bool supervisor::wait_ended(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(state_->mu);
  return state_->ended.wait_until(lock, deadline, [this] { return state_->running == 0; });
}

void supervisor::collect(exposition& out, std::string_view prefix) const {
  std::string failures_name = std::string(prefix) + "loop_failures_total";
  std::lock_guard lock(state_->mu);
  for (const auto& loop : state_->loops)
    out.counter(failures_name, "Long-lived loops that threw (each is restarted after a backoff).",
                static_cast<double>(loop.failures.load()), {{"loop", loop.name}});
  out.gauge(std::string(prefix) + "loops_running", "Long-lived loops running.", state_->running);
}

}  // namespace redoubt::kit
