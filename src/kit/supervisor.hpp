// Runs a process's long-lived coroutines (the outbox relay, timers, the worker's fetch loop)
// so that none is lost: a loop that throws is logged with its name, counted, and started
// again after a short backoff; a loop that returns has finished and is not restarted.
// stop() ends the restarts (a loop waiting out its backoff ends at once); the loops
// themselves are stopped by their owners (their own stop flags).
//
// Threads: spawn, stop, counters and wait_ended are safe from any thread. Each loop runs on
// its own strand of the executor given at construction.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "kit/metrics.hpp"

namespace redoubt::kit {

class supervisor {
 public:
  // Makes a fresh run of the loop; called again for every restart.
  using loop_factory = std::function<boost::asio::awaitable<void>()>;

  supervisor(boost::asio::any_io_executor ex, std::chrono::milliseconds restart_backoff);
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  void spawn(std::string name, loop_factory make_loop);
  void stop();

  // For a supervised loop's waits between rounds: true after `d`, false at once when the
  // supervisor stops (then the loop should return).
  boost::asio::awaitable<bool> pause(std::chrono::milliseconds d);

  // How often the loop `name` threw; all loops together when name is empty.
  std::uint64_t failures(std::string_view name = {}) const;
  // Loops spawned and not yet ended.
  int running() const;
  // Blocks the calling thread (never an io thread of this executor) until every loop ended or
  // the deadline passed; true when all ended.
  bool wait_ended(std::chrono::steady_clock::time_point deadline) const;

  // `<prefix>loop_failures_total{loop="..."}` and `<prefix>loops_running`.
  void collect(exposition& out, std::string_view prefix) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace redoubt::kit
