// redoubt-worker: pulls signed jobs from JetStream and runs them (emails today). Own config
// file, own broker account, own PostgreSQL role. On SIGINT/SIGTERM it stops fetching and lets
// the jobs in flight finish within worker.drain_timeout_ms.
#include <csignal>
#include <iostream>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "email/sender.hpp"
#include "job_runner.hpp"
#include "kit/config_reader.hpp"
#include "kit/metrics.hpp"
#include "kit/process.hpp"
#include "kit/supervisor.hpp"
#include "queue/broker_settings.hpp"
#include "queue/envelope.hpp"
#include "queue/job_consumer.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox_repository.hpp"
#include "storage/worker_repository.hpp"
#include "worker_config.hpp"

namespace asio = boost::asio;
using namespace redoubt;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

// Used on the one io thread only: needs no locks.
struct worker_state {
  explicit worker_state(asio::io_context& io)
      : slot_free(io), metrics_tick(io), drain_deadline(io) {}
  bool stopping = false;
  int in_flight = 0;
  asio::steady_timer slot_free;       // cancelled when a job ends
  asio::steady_timer metrics_tick;    // cancelled on stop
  asio::steady_timer drain_deadline;  // cancelled once the jobs in flight are done
};

asio::awaitable<std::vector<std::unique_ptr<queue::delivery>>> fetch_task(
    queue::job_consumer* c, int batch, std::chrono::milliseconds wait) {
  auto r = c->fetch(batch, wait);
  if (!r) {
    log::warn("job_fetch_failed", {{"error", r.error().message}});
    std::this_thread::sleep_for(wait);  // broker away: do not spin
    co_return std::vector<std::unique_ptr<queue::delivery>>{};
  }
  co_return std::move(*r);
}

asio::awaitable<void> run_one(worker::job_runner* runner, std::shared_ptr<queue::delivery> d,
                              worker_state* st) {
  // The slot is given back whatever happens, or a handler that threw would shrink the worker's
  // concurrency for good (and at zero it would stop fetching). The job itself is redelivered
  // by the broker after its ack wait.
  try {
    co_await runner->handle(std::move(d));
  } catch (const std::exception& e) {
    log::error("job_handler_failed", {{"error", e.what()}});
  }
  --st->in_flight;
  st->slot_free.cancel();
}

void log_job_crash(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("job_handler_failed", {{"error", ex.what()}});
  } catch (...) {
    log::error("job_handler_failed", {{"error", "unknown exception"}});
  }
}

// Fetches while there is a free slot; on stop, returns once the jobs in flight are done.
// Blocking broker and email calls go to the pool.
asio::awaitable<void> fetch_loop(const worker_settings* s, queue::job_consumer* consumer,
                                 worker::job_runner* runner, asio::thread_pool* blocking,
                                 worker_state* st) {
  auto ex = co_await asio::this_coro::executor;
  while (!st->stopping) {
    int room = s->concurrency - st->in_flight;
    if (room <= 0) {
      st->slot_free.expires_after(std::chrono::seconds(1));
      co_await st->slot_free.async_wait(token);
      continue;
    }
    auto batch = co_await asio::co_spawn(
        *blocking, fetch_task(consumer, std::min(room, s->fetch_batch), s->fetch_wait),
        asio::use_awaitable);
    for (auto& d : batch) {
      ++st->in_flight;
      asio::co_spawn(ex, run_one(runner, std::shared_ptr<queue::delivery>(std::move(d)), st),
                     log_job_crash);
    }
  }
  while (st->in_flight > 0) {
    st->slot_free.expires_after(std::chrono::seconds(1));
    co_await st->slot_free.async_wait(token);
  }
  st->drain_deadline.cancel();
}

void collect_job_metrics(kit::exposition& out, const worker::job_stats& j,
                         const queue::job_consumer& c) {
  out.counter("redoubt_worker_jobs_done_total", "Jobs run to the end and acknowledged.",
              j.done_total);
  out.counter("redoubt_worker_jobs_skipped_total",
              "Jobs acknowledged without running (done before).", j.skipped_total);
  out.counter("redoubt_worker_jobs_retried_total", "Job deliveries handed back for a later retry.",
              j.retried_total);
  out.counter("redoubt_worker_jobs_dead_lettered_total", "Jobs given up on and dead-lettered.",
              j.dead_lettered_total);
  out.counter("redoubt_worker_jobs_rejected_total",
              "Jobs that failed verification (forged, modified, expired, replayed).",
              j.rejected_total);
  out.counter("redoubt_worker_queue_reopened_total",
              "Broker connections opened again after one closed.", c.reopened());
}

void collect_email_metrics(kit::exposition& out, const email::sender_stats& e) {
  out.counter("redoubt_worker_email_sent_total", "Emails the provider accepted.", e.sent_total);
  out.counter("redoubt_worker_email_failed_total", "Emails given up on.", e.failed_total);
  out.counter("redoubt_worker_email_attempts_total", "Send attempts, retries included.",
              e.attempts_total);
  out.counter("redoubt_worker_email_rate_limited_total", "Emails held back by the rate limits.",
              e.rate_limited_total);
  out.counter("redoubt_worker_email_breaker_opened_total", "Times the circuit breaker opened.",
              e.breaker_open_total);
  out.gauge("redoubt_worker_email_breaker_state", "Circuit breaker: 0 closed, 1 open, 2 half open.",
            e.breaker.load());
}

asio::awaitable<void> metrics_loop(const std::string* path, const kit::metrics_registry* metrics,
                                   worker_state* st) {
  while (!st->stopping) {
    kit::write_file_atomically(*path, metrics->render());
    st->metrics_tick.expires_after(std::chrono::milliseconds(500));
    co_await st->metrics_tick.async_wait(token);
  }
}

struct worker_parts {
  std::map<std::string, std::string> trusted_keys;
  std::unique_ptr<email::sender> sender;
  std::unique_ptr<queue::job_consumer> consumer;
  std::unique_ptr<worker::file_jobs> file_jobs;
};

// Everything that can refuse to start, before any job runs.
result<worker_parts> assemble(const worker_settings& config, storage::worker_repository& repo,
                              asio::thread_pool& blocking) {
  worker_parts parts;
  auto keys = kit::read_public_key_files(config.verify_key_files);
  if (!keys) return keys.error();
  parts.trusted_keys = std::move(*keys);
  auto provider = email::make_provider(config.email);
  if (!provider) return provider.error();
  parts.sender = std::make_unique<email::sender>(std::move(*provider), config.email);
  auto consumer =
      queue::job_consumer::connect(queue::client_settings<queue::consumer_settings>(config.nats));
  if (!consumer) return consumer.error();
  parts.consumer = std::move(*consumer);
  // Attachments: the same store directory and master keys as the server.
  if (!config.files_dir.empty()) {
    auto ring = files::key_ring::parse(config.files_master_keys.reveal());
    if (!ring) return make_error(ring.error().code, "files: " + ring.error().message);
    auto store = files::file_store::open(config.files_dir);
    if (!store) return make_error(store.error().code, "files: " + store.error().message);
    parts.file_jobs = std::make_unique<worker::file_jobs>(config, repo, blocking, std::move(*store),
                                                          std::move(*ring));
  }
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  const kit::program_info program{"redoubt-worker",
                                  "redoubt-worker: runs Redoubt's background jobs",
                                  "/etc/redoubt/worker.toml", storage::expected_schema_version()};
  std::string config_path;
  if (auto done = kit::parse_command_line(argc, argv, program, config_path)) return *done;
  crypto::init();
  email::global_init();
  kit::start_logging(program);
  auto loaded = worker::load_worker_settings(config_path);
  if (!loaded) return kit::fail(program.name, loaded.error().message);
  worker_settings config = std::move(*loaded);
  kit::set_log_level(config.log_level);

  asio::io_context io(1);
  asio::thread_pool blocking(static_cast<std::size_t>(config.concurrency + 2));
  auto pool = db::pool::create(io.get_executor(), config.database);
  storage::worker_repository repo(pool);
  {
    auto ok = kit::check_schema_version(kit::run_blocking(io, storage::schema_version(*pool)),
                                        program.schema_version);
    if (!ok) return kit::fail(program.name, ok.error().message);
  }
  auto parts = assemble(config, repo, blocking);
  if (!parts) return kit::fail(program.name, parts.error().message);
  auto& consumer = *parts->consumer;
  worker::job_runner runner(config, repo, *parts->sender, blocking, consumer,
                            std::move(parts->trusted_keys), parts->file_jobs.get());

  worker_state state(io);
  kit::supervisor loops(io.get_executor(), config.loop_restart_backoff);
  kit::metrics_registry metrics;
  metrics.add([&](kit::exposition& out) { collect_job_metrics(out, runner.stats(), consumer); });
  metrics.add([&](kit::exposition& out) { collect_email_metrics(out, parts->sender->stats()); });
  metrics.add([&](kit::exposition& out) { loops.collect(out, "redoubt_worker_"); });

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", sig}, {"in_flight", state.in_flight}});
    state.stopping = true;
    loops.stop();
    state.slot_free.cancel();
    state.metrics_tick.cancel();
    state.drain_deadline.expires_after(config.drain_timeout);
    state.drain_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;  // drained in time
      log::warn("drain_timeout", {{"in_flight", state.in_flight}});
      io.stop();
    });
  });
  loops.spawn("fetch", [&] { return fetch_loop(&config, &consumer, &runner, &blocking, &state); });
  if (!config.metrics_file.empty())
    loops.spawn("metrics_file",
                [&] { return metrics_loop(&config.metrics_file, &metrics, &state); });
  log::info("started", {{"config_fingerprint", kit::config_fingerprint(config_path)},
                        {"provider", parts->sender->provider_name()},
                        {"concurrency", config.concurrency}});
  io.restart();
  io.run();
  blocking.join();
  if (!config.metrics_file.empty())
    kit::write_file_atomically(config.metrics_file, metrics.render());
  log::info("stopped");
  return 0;
}
