// Group commit (chat::message_writer) against an in-memory message store: batching, the batch
// size bound, seq order, client_id retries and failures. No database, no sockets.
#include <numeric>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "chat/hub.hpp"
#include "chat/message_writer.hpp"
#include "support/co_test.hpp"
#include "support/memory_message_store.hpp"

namespace redoubt::chat {
namespace {
namespace asio = boost::asio;
using test::memory_message_store;

post_request request(room_id room, user_id author, std::string client_id, std::string body = "hello") {
  post_request r;
  r.room = room;
  r.author = author;
  r.author_username = "user" + std::to_string(author);
  r.client_id = std::move(client_id);
  r.body = std::move(body);
  return r;
}

struct results {
  std::vector<std::optional<result<post_outcome>>> outcomes;
  std::size_t done = 0;
};

asio::awaitable<void> post_one(message_writer& writer, post_request r, results& into, std::size_t index) {
  into.outcomes[index] = co_await writer.post(std::move(r));
  ++into.done;
}

// Lets every handler that is ready run (the io_context has one thread).
asio::awaitable<void> settle() {
  auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < 50; ++i) co_await asio::post(ex, asio::use_awaitable);
}

// Starts all posts before any of them can be written, then waits for their outcomes.
asio::awaitable<results> post_all(message_writer& writer, std::vector<post_request> requests) {
  auto ex = co_await asio::this_coro::executor;
  results r;
  r.outcomes.resize(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i)
    asio::co_spawn(ex, post_one(writer, std::move(requests[i]), r, i), asio::detached);
  while (r.done < r.outcomes.size()) co_await settle();
  co_return r;
}

std::size_t sum(const std::vector<std::size_t>& v) { return std::accumulate(v.begin(), v.end(), std::size_t{0}); }

CO_TEST(GroupCommit, ConcurrentPostsShareATransaction) {
  memory_message_store store;
  hub live;
  message_writer writer(co_await asio::this_coro::executor, store, live, 64, 1);
  writer.start();
  std::vector<post_request> posts;
  for (int i = 0; i < 10; ++i) posts.push_back(request(1, 7, "c" + std::to_string(i)));
  auto r = co_await post_all(writer, std::move(posts));
  for (const auto& o : r.outcomes) EXPECT_TRUE(o && *o && (*o)->status == post_status::ok);
  EXPECT_EQ(sum(store.batch_sizes), 10u);
  EXPECT_LE(store.batch_sizes.size(), 2u) << "ten posts queued together took " << store.batch_sizes.size()
                                         << " transactions";
  EXPECT_EQ(writer.stats().messages, 10u);
  writer.stop();
  co_await settle();
}

CO_TEST(GroupCommit, ABatchNeverExceedsTheLimit) {
  memory_message_store store;
  hub live;
  message_writer writer(co_await asio::this_coro::executor, store, live, 4, 2);
  writer.start();
  std::vector<post_request> posts;
  for (int i = 0; i < 10; ++i) posts.push_back(request(1, 7, "c" + std::to_string(i)));
  co_await post_all(writer, std::move(posts));
  EXPECT_EQ(sum(store.batch_sizes), 10u);
  for (auto size : store.batch_sizes) EXPECT_LE(size, 4u);
  writer.stop();
  co_await settle();
}

CO_TEST(GroupCommit, SeqsAreGaplessPerRoomInTheOrderPostsArrived) {
  memory_message_store store;
  hub live;
  message_writer writer(co_await asio::this_coro::executor, store, live, 64, 1);
  writer.start();
  std::vector<post_request> posts;
  for (int i = 0; i < 8; ++i) posts.push_back(request(i % 2 == 0 ? 2 : 1, 7, "c" + std::to_string(i)));
  auto r = co_await post_all(writer, std::move(posts));
  std::map<room_id, seq_t> last{{1, 0}, {2, 0}};
  for (int i = 0; i < 8; ++i) {
    const auto& o = r.outcomes[static_cast<std::size_t>(i)];
    if (!o || !*o) {
      ADD_FAILURE() << "post " << i << " failed";
      continue;
    }
    const room_id room = i % 2 == 0 ? 2 : 1;
    EXPECT_EQ((*o)->seq, last[room] + 1) << "post " << i << " in room " << room;
    last[room] = (*o)->seq;
  }
  EXPECT_EQ(store.last_seq(1), 4);
  EXPECT_EQ(store.last_seq(2), 4);
  writer.stop();
  co_await settle();
}

CO_TEST(GroupCommit, ARetryWithTheSameClientIdGetsTheOriginalMessage) {
  memory_message_store store;
  hub live;
  message_writer writer(co_await asio::this_coro::executor, store, live, 64, 1);
  writer.start();
  auto first = co_await writer.post(request(1, 7, "same"));
  auto retry = co_await writer.post(request(1, 7, "same"));
  auto reused = co_await writer.post(request(1, 7, "same", "a different text"));
  auto other_author = co_await writer.post(request(1, 8, "same"));
  EXPECT_TRUE(first && retry && reused && other_author);
  if (first && retry && reused && other_author) {
    EXPECT_EQ(first->status, post_status::ok);
    EXPECT_EQ(retry->status, post_status::duplicate);
    EXPECT_EQ(retry->id, first->id);
    EXPECT_EQ(retry->seq, first->seq);
    EXPECT_EQ(reused->status, post_status::client_id_reused);
    EXPECT_EQ(other_author->status, post_status::ok);
    EXPECT_EQ(other_author->seq, first->seq + 1);
  }
  writer.stop();
  co_await settle();
}

CO_TEST(GroupCommit, AConflictIsRetriedAndAFailureAnswersEveryPoster) {
  memory_message_store store;
  hub live;
  message_writer writer(co_await asio::this_coro::executor, store, live, 64, 1);
  writer.start();
  store.fail_next = {errc::conflict};
  auto retried = co_await writer.post(request(1, 7, "a"));
  EXPECT_TRUE(retried && retried->status == post_status::ok);
  EXPECT_EQ(store.batch_sizes.size(), 2u);  // the conflict, then the retry

  // Enough failures for every batch the three posts may be split into.
  store.fail_next = {errc::internal, errc::internal, errc::internal};
  const auto batches_before = store.batch_sizes.size();
  std::vector<post_request> posts{request(1, 7, "b"), request(1, 7, "c"), request(2, 7, "d")};
  auto r = co_await post_all(writer, std::move(posts));
  const auto failed_batches = store.batch_sizes.size() - batches_before;
  for (const auto& o : r.outcomes) {
    EXPECT_TRUE(o && !*o);
    if (o && !*o) {
      EXPECT_EQ(o->error().code, errc::unavailable);  // the client retries with its client_id
    }
  }
  EXPECT_GE(failed_batches, 1u);
  EXPECT_EQ(writer.stats().failures, failed_batches);
  EXPECT_EQ(store.last_seq(1), 1) << "nothing of the failed batch is stored";
  writer.stop();
  co_await settle();
}

}  // namespace
}  // namespace redoubt::chat
