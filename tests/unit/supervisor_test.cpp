// Long-lived loops under the supervisor: a loop that throws is restarted and counted, one that
// returns is not restarted, and stop() ends the restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include <boost/asio/io_context.hpp>

#include "kit/supervisor.hpp"

namespace redoubt::kit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Throws on its first `throws` runs, then returns.
asio::awaitable<void> flaky_loop(int* runs, int throws) {
  if (++*runs <= throws) throw std::runtime_error("broken");
  co_return;
}

// Waits an hour between rounds until the supervisor stops.
asio::awaitable<void> patient_loop(supervisor* s, int* rounds) {
  for (;;) {
    ++*rounds;
    const bool go_on = co_await s->pause(std::chrono::hours(1));
    if (!go_on) co_return;
  }
}

TEST(Supervisor, ALoopThatThrowsIsRestartedAndCounted) {
  asio::io_context io;
  supervisor s(io.get_executor(), 1ms);
  int runs = 0;
  s.spawn("flaky", [&runs] { return flaky_loop(&runs, 2); });
  io.run_for(2s);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(s.failures("flaky"), 2u);
  EXPECT_EQ(s.failures(), 2u);
  EXPECT_EQ(s.running(), 0);
  exposition e;
  s.collect(e, "test_");
  EXPECT_NE(e.text().find("test_loop_failures_total{loop=\"flaky\"} 2\n"), std::string::npos);
  EXPECT_NE(e.text().find("# TYPE test_loop_failures_total counter\n"), std::string::npos);
}

TEST(Supervisor, ALoopThatReturnsIsNotRestarted) {
  asio::io_context io;
  supervisor s(io.get_executor(), 1ms);
  int runs = 0;
  s.spawn("done", [&runs] { return flaky_loop(&runs, 0); });
  io.run_for(2s);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_TRUE(s.wait_ended(std::chrono::steady_clock::now()));
}

TEST(Supervisor, StopEndsALoopWaitingOutItsBackoff) {
  asio::io_context io;
  supervisor s(io.get_executor(), 1h);
  int runs = 0;
  s.spawn("always_broken", [&runs] { return flaky_loop(&runs, 1000); });
  while (s.failures() == 0) io.run_one();
  s.stop();
  io.run_for(2s);  // returns at once: nothing is left to run
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(s.running(), 0);
}

TEST(Supervisor, StopEndsALoopInItsPause) {
  asio::io_context io;
  supervisor s(io.get_executor(), 1ms);
  int rounds = 0;
  s.spawn("patient", [&s, &rounds] { return patient_loop(&s, &rounds); });
  while (rounds == 0) io.run_one();
  io.poll();  // now waiting in pause()
  s.stop();
  io.run_for(2s);
  EXPECT_EQ(rounds, 1);
  EXPECT_EQ(s.running(), 0);
  EXPECT_EQ(s.failures(), 0u);
}

}  // namespace
}  // namespace redoubt::kit
