#include "queue/outbox_relay.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "queue/envelope.hpp"
#include "queue/event_bus.hpp"
#include "storage/outbox_repository.hpp"

namespace redoubt::queue {
namespace asio = boost::asio;

struct outbox_relay::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, storage::outbox_repository& r, event_bus& b, const jobs_settings& s)
      : strand(asio::make_strand(ex)), timer(strand), repo(r), bus(b), settings(s), publisher(1) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  storage::outbox_repository& repo;
  event_bus& bus;
  const jobs_settings& settings;
  asio::thread_pool publisher;
  std::atomic<bool> woken{false};
  std::atomic<bool> stopped{false};
  relay_stats stats;
};

namespace {

// On the publisher thread: the only blocking call of the relay.
asio::awaitable<result<void>> publish_task(event_bus* bus, event_bus::job_message msg,
                                           std::chrono::milliseconds timeout) {
  co_return bus->publish_job(msg, timeout);
}

// On the publisher thread too: a connection the client library closed for good is replaced.
asio::awaitable<bool> reopen_task(event_bus* bus) { co_return bus->reopen_if_closed(); }

// One pass: claim a batch, publish in order, record what the stream acknowledged. Returns the
// number of rows claimed, or -1 when publishing failed (back off).
asio::awaitable<int> relay_batch(std::shared_ptr<outbox_relay::impl> self) {
  const auto& s = self->settings;
  auto claimed = co_await self->repo.claim(s.relay_batch, s.claim_timeout.count(), s.republish_after.count());
  if (!claimed) {
    log::warn("outbox_claim_failed", {{"error", claimed.error().message}});
    co_return -1;
  }
  std::vector<std::string> published, released;
  bool failing = false;
  for (auto& row : *claimed) {
    if (failing) {
      released.push_back(row.id);
      continue;
    }
    job_envelope env{row.id, row.kind, row.created_at, row.expires_at, row.correlation_id, row.payload_json};
    auto sealed = seal(env, s.signing_key, s.signing_public_key);
    if (!sealed) {
      // Cannot happen for rows the schema accepted; leave it for an operator, do not spin.
      log::error("outbox_seal_failed", {{"job_id", row.id}, {"error", sealed.error().message}});
      continue;
    }
    event_bus::job_message msg{"jobs." + row.kind, std::move(sealed->data), row.id, std::move(sealed->key_id),
                               std::move(sealed->signature), row.correlation_id};
    auto sent = co_await asio::co_spawn(self->publisher, publish_task(&self->bus, std::move(msg), s.publish_timeout),
                                        asio::use_awaitable);
    if (!sent) {
      self->stats.publish_failures_total.fetch_add(1, std::memory_order_relaxed);
      log::warn("outbox_publish_failed", {{"job_id", row.id}, {"error", sent.error().message}});
      failing = true;
      released.push_back(row.id);
      continue;
    }
    log::info("job_published", {{"job_id", row.id}, {"type", row.kind}, {"correlation_id", row.correlation_id}});
    published.push_back(row.id);
  }
  if (!published.empty() || !released.empty()) {
    auto done = co_await self->repo.finish_claims(published, released);
    if (!done) log::warn("outbox_finish_failed", {{"error", done.error().message}});
  }
  self->stats.published_total.fetch_add(published.size(), std::memory_order_relaxed);
  co_return failing ? -1 : static_cast<int>(claimed->size());
}

// The outbox is the buffer when the broker refuses or is away; an operator hears about it
// once when it crosses a bound and once when it is back under both.
void watch_backlog(outbox_relay::impl& self, const storage::outbox_counts& counts) {
  self.stats.unpublished.store(counts.unpublished);
  self.stats.oldest_unpublished_seconds.store(counts.oldest_unpublished_seconds);
  const bool over = counts.unpublished >= self.settings.outbox_alarm_rows ||
                    counts.oldest_unpublished_seconds >= self.settings.outbox_alarm_age.count();
  if (over == self.stats.backlog_alarm.load()) return;
  self.stats.backlog_alarm.store(over);
  if (over)
    log::error("outbox_backlog", {{"unpublished", counts.unpublished},
                                  {"oldest_unpublished_s", counts.oldest_unpublished_seconds},
                                  {"alarm_rows", self.settings.outbox_alarm_rows},
                                  {"alarm_age_s", static_cast<std::int64_t>(self.settings.outbox_alarm_age.count())}});
  else
    log::info("outbox_backlog_cleared", {{"unpublished", counts.unpublished}});
}

asio::awaitable<void> relay_loop(std::shared_ptr<outbox_relay::impl> self) {
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  auto backoff = self->settings.relay_interval;
  int passes = 0;
  while (!self->stopped.load()) {
    self->woken.store(false);
    const bool bus_open = co_await asio::co_spawn(self->publisher, reopen_task(&self->bus), asio::use_awaitable);
    int n = bus_open ? co_await relay_batch(self) : -1;
    // While the broker refuses jobs every pass counts (the backlog is what grows then).
    if (++passes % 16 == 0 || n < 0) {
      auto counts = co_await self->repo.counts();
      if (counts) watch_backlog(*self, *counts);
    }
    if (n == self->settings.relay_batch) continue;  // more waiting
    std::chrono::milliseconds wait = self->settings.relay_interval;
    if (n < 0) {
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(30000));
      wait = backoff;
    } else {
      backoff = self->settings.relay_interval;
      if (self->woken.load()) continue;
    }
    self->timer.expires_after(wait);
    co_await self->timer.async_wait(token);
  }
}

}  // namespace

outbox_relay::outbox_relay(asio::any_io_executor ex, storage::outbox_repository& repo, event_bus& bus,
                           const jobs_settings& s)
    : impl_(std::make_shared<impl>(std::move(ex), repo, bus, s)) {}

outbox_relay::~outbox_relay() { stop(); }

asio::awaitable<void> outbox_relay::run() {
  co_await asio::co_spawn(impl_->strand, relay_loop(impl_), asio::use_awaitable);
}

void outbox_relay::notify() {
  if (impl_->woken.exchange(true)) return;
  asio::post(impl_->strand, [self = impl_] { self->timer.cancel(); });
}

void outbox_relay::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->strand, [self = impl_] { self->timer.cancel(); });
  impl_->publisher.stop();
  impl_->publisher.join();
}

const relay_stats& outbox_relay::stats() const { return impl_->stats; }

}  // namespace redoubt::queue
