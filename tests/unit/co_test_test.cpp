// CO_TEST itself: coroutine bodies run to completion, and failures inside them are reported.
#include "support/co_test.hpp"

#include <chrono>
#include <stdexcept>

#include <gtest/gtest-spi.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<int> add_later(int a, int b) {
  co_await sleep_for(1ms);
  co_return a + b;
}

CO_TEST(co_test, awaits_a_timer) {
  auto start = std::chrono::steady_clock::now();
  co_await sleep_for(20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

CO_TEST(co_test, awaits_a_value) {
  int sum = co_await add_later(2, 3);
  EXPECT_EQ(sum, 5);
}

asio::awaitable<void> expects_wrongly() {
  co_await sleep_for(1ms);
  EXPECT_EQ(2 + 2, 5) << "checked after a co_await";
}

asio::awaitable<void> throws_after_await() {
  co_await sleep_for(1ms);
  throw std::runtime_error("thrown inside the coroutine");
}

asio::awaitable<void> never_finishes() {
  co_await sleep_for(10s);
}

TEST(co_test, failing_expect_inside_a_coroutine_is_reported) {
  EXPECT_NONFATAL_FAILURE(redoubt::test::run_co_test(expects_wrongly()),
                          "checked after a co_await");
}

TEST(co_test, exception_inside_a_coroutine_is_reported) {
  EXPECT_NONFATAL_FAILURE(redoubt::test::run_co_test(throws_after_await()),
                          "thrown inside the coroutine");
}

TEST(co_test, coroutine_past_its_deadline_is_reported) {
  EXPECT_NONFATAL_FAILURE(redoubt::test::run_co_test(never_finishes(), 50ms),
                          "did not finish within 50 ms");
}

}  // namespace
