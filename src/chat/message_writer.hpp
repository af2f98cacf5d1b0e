// Group commit: concurrent posts are queued and written by a few writer coroutines, each
// taking everything queued (up to max_batch) into one transaction. A post completes only
// after COMMIT; then the new messages are published to the hub.
//
// Thread-safe post(); writers run on their own strand.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "base/errc.hpp"
#include "chat/hub.hpp"
#include "chat/message_store.hpp"
#include "model/model.hpp"


namespace redoubt::chat {

struct writer_stats {
  std::uint64_t batches = 0;
  std::uint64_t messages = 0;
  std::uint64_t failures = 0;
  std::size_t queued = 0;
};

class message_writer {
 public:
  // Type-erased completion of a waiting post(); resumes the waiter on its own executor.
  // (asio::any_completion_handler in Boost 1.81 re-wraps itself recursively when moved.)
  struct completion_base {
    virtual ~completion_base() = default;
    virtual void complete(result<post_outcome> r) = 0;
  };
  using completion = std::unique_ptr<completion_base>;

  message_writer(boost::asio::any_io_executor ex, message_store& store, hub& live,
                 std::size_t max_batch, int writers);

  void start();
  void stop();

  // Completes with the outcome once the batch holding this post has committed.
  boost::asio::awaitable<result<post_outcome>> post(post_request request);

  writer_stats stats() const;

 private:
  struct pending {
    post_request request;
    completion done;
  };

  void enqueue(post_request request, completion done);
  boost::asio::awaitable<void> run_writer();
  boost::asio::awaitable<void> write_batch(std::vector<pending> batch);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  message_store& store_;
  hub& hub_;
  std::size_t max_batch_;
  int writers_;
  boost::asio::steady_timer wake_;
  mutable std::mutex mutex_;
  std::deque<pending> queue_;
  bool stopped_ = false;
  std::atomic<std::uint64_t> batches_{0}, messages_{0}, failures_{0};
};

}  // namespace redoubt::chat
