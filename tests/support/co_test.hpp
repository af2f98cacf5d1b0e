// CO_TEST(Suite, Name): a GoogleTest test whose body is a coroutine (co_await allowed). The body
// runs to completion on a fresh single-threaded io_context, on the test's thread, with a
// deadline (co_test_deadline). An exception escaping the body, or a body still running at the
// deadline, is reported as a test failure.
//
//   CO_TEST(hub, delivers_in_order) {
//     auto got = co_await some_async_call();
//     EXPECT_EQ(got, 3);
//   }
//
// ASSERT_* cannot be used inside the body (it expands to `return`, not `co_return`): use
// EXPECT_* and `co_return`, or call a plain helper function that uses ASSERT_*.
// Objects bound to the io_context must be created inside the body.
#pragma once

#include <chrono>
#include <exception>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace redoubt::test {

inline constexpr std::chrono::milliseconds co_test_deadline{5000};

// Runs `body` on a fresh io_context until it finishes or `deadline` passes; failures are
// reported with ADD_FAILURE (the test continues, so its cleanup runs).
inline void run_co_test(boost::asio::awaitable<void> body,
                        std::chrono::milliseconds deadline = co_test_deadline) {
  boost::asio::io_context io(1);
  bool finished = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    finished = true;
    failure = e;
  });
  io.run_for(deadline);
  if (!finished) {
    ADD_FAILURE() << "coroutine test did not finish within " << deadline.count() << " ms";
    return;  // destroying `io` destroys the suspended coroutine frames
  }
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "coroutine test threw: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "coroutine test threw a non-std exception";
  }
}

}  // namespace redoubt::test

#define REDOUBT_CO_TEST_BODY_(suite, name) redoubt_co_test_body_##suite##_##name

// The body becomes a free coroutine function (not a capturing lambda: g++ 12 miscompiles
// those), declared first, run by an ordinary TEST, and defined by the braces after the macro.
#define CO_TEST(suite, name)                                                  \
  static ::boost::asio::awaitable<void> REDOUBT_CO_TEST_BODY_(suite, name)(); \
  TEST(suite, name) {                                                         \
    ::redoubt::test::run_co_test(REDOUBT_CO_TEST_BODY_(suite, name)());       \
  }                                                                           \
  static ::boost::asio::awaitable<void> REDOUBT_CO_TEST_BODY_(suite, name)()
