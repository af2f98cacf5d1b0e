#include "chat/message_writer.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "proto/render.hpp"

namespace redoubt::chat {
namespace asio = boost::asio;

message_writer::message_writer(asio::any_io_executor ex, message_store& store, hub& live,
                               std::size_t max_batch, int writers)
    : strand_(asio::make_strand(ex)),
      store_(store),
      hub_(live),
      max_batch_(std::max<std::size_t>(1, max_batch)),
      writers_(std::max(1, writers)),
      wake_(strand_) {
  wake_.expires_at(asio::steady_timer::time_point::max());
}

void message_writer::start() {
  for (int i = 0; i < writers_; ++i) asio::co_spawn(strand_, run_writer(), asio::detached);
}

void message_writer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  asio::post(strand_, [this] { wake_.cancel(); });
}

writer_stats message_writer::stats() const {
  writer_stats s;
  s.batches = batches_.load();
  s.messages = messages_.load();
  s.failures = failures_.load();
  std::lock_guard lock(mutex_);
  s.queued = queue_.size();
  return s;
}

namespace {
template <class Handler>
struct completion_impl final : message_writer::completion_base {
  completion_impl(Handler h, asio::any_io_executor e) : handler(std::move(h)), ex(std::move(e)) {}
  // Never inline: the waiter continues on its own executor, not on the writer's strand.
  void complete(result<post_outcome> r) override {
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
  }
  Handler handler;
  asio::any_io_executor ex;
};

void complete(message_writer::completion& done, result<post_outcome> r) { done->complete(std::move(r)); }
}  // namespace

void message_writer::enqueue(post_request request, completion done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      queue_.push_back(pending{std::move(request), std::move(done)});
      asio::post(strand_, [this] { wake_.cancel_one(); });
      return;
    }
  }
  complete(done, make_error(errc::unavailable, "server is shutting down"));
}

asio::awaitable<result<post_outcome>> message_writer::post(post_request request) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(result<post_outcome>)>(
      [this](auto handler, post_request req) {
        asio::any_io_executor ex = asio::get_associated_executor(handler, strand_.get_inner_executor());
        enqueue(std::move(req),
                std::make_unique<completion_impl<decltype(handler)>>(std::move(handler), std::move(ex)));
      },
      asio::use_awaitable, std::move(request));
}

asio::awaitable<void> message_writer::run_writer() {
  for (;;) {
    std::vector<pending> batch;
    {
      std::lock_guard lock(mutex_);
      if (stopped_ && queue_.empty()) co_return;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) {
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    co_await write_batch(std::move(batch));
  }
}

asio::awaitable<void> message_writer::write_batch(std::vector<pending> batch) {
  // Room order keeps concurrent batches from deadlocking on the rooms' sequence rows.
  std::stable_sort(batch.begin(), batch.end(), [](const pending& a, const pending& b) {
    return a.request.room < b.request.room;
  });
  std::vector<post_request> requests;
  requests.reserve(batch.size());
  for (const auto& p : batch) requests.push_back(p.request);

  result<std::vector<post_outcome>> outcome = make_error(errc::internal, "not written");
  for (int attempt = 0; attempt < 3; ++attempt) {
    outcome = co_await store_.post_batch(requests);
    if (outcome || outcome.error().code != errc::conflict) break;
  }
  if (!outcome) {
    failures_.fetch_add(1);
    log::warn("group_commit_failed", {{"size", batch.size()}, {"code", errc_name(outcome.error().code)},
                                      {"detail", outcome.error().message}});
    auto code = outcome.error().code == errc::deadline_exceeded ? errc::unavailable : outcome.error().code;
    for (auto& p : batch)
      complete(p.done, make_error(code == errc::internal ? errc::unavailable : code,
                                  "message not stored; retry with the same client_id"));
    co_return;
  }
  batches_.fetch_add(1);
  messages_.fetch_add(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& o = (*outcome)[i];
    if (o.status == post_status::ok) {
      message m;
      m.id = o.id;
      m.room = requests[i].room;
      m.seq = o.seq;
      m.author = requests[i].author;
      m.author_username = requests[i].author_username;
      m.client_id = requests[i].client_id;
      m.body = requests[i].body;
      m.reply_to = requests[i].reply_to;
      m.created_at = o.created_at;
      m.mentions = o.mentioned;
      m.attachments_json = o.attachments_json;
      hub_.publish(m.room, m.seq, std::make_shared<const std::string>(proto::message_event_frame(m)));
    }
    complete(batch[i].done, std::move(o));
  }
}

}  // namespace redoubt::chat
