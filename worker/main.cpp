// redoubt-worker: pulls signed jobs from JetStream and runs them (emails today). Own config
// file, own broker account, own PostgreSQL role. Stops cleanly on SIGINT/SIGTERM.
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "app/config_file.hpp"
#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "email/sender.hpp"
#include "job_runner.hpp"
#include "queue/envelope.hpp"
#include "queue/job_consumer.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox_repository.hpp"
#include "storage/worker_repository.hpp"

namespace asio = boost::asio;
using namespace redoubt;

namespace {

int fail(const std::string& what) {
  log::error("startup_failed", {{"reason", what}});
  std::cerr << "redoubt-worker: " << what << "\n";
  return 2;
}

log::level parse_level(const std::string& s) {
  if (s == "debug") return log::level::debug;
  if (s == "warn") return log::level::warn;
  if (s == "error") return log::level::error;
  return log::level::info;
}

struct worker_state {
  bool stopping = false;
  int in_flight = 0;
};

asio::awaitable<std::vector<std::unique_ptr<queue::delivery>>> fetch_task(queue::job_consumer* c, int batch,
                                                                         std::chrono::milliseconds wait) {
  auto r = c->fetch(batch, wait);
  if (!r) {
    log::warn("job_fetch_failed", {{"error", r.error().message}});
    std::this_thread::sleep_for(wait);  // broker away: do not spin
    co_return std::vector<std::unique_ptr<queue::delivery>>{};
  }
  co_return std::move(*r);
}

asio::awaitable<void> run_one(worker::job_runner* runner, std::shared_ptr<queue::delivery> d, worker_state* st,
                              asio::steady_timer* slot_free) {
  // The slot is given back whatever happens, or a handler that threw would shrink the worker's
  // concurrency for good (and at zero it would stop fetching). The job itself is redelivered
  // by the broker after its ack wait.
  try {
    co_await runner->handle(std::move(d));
  } catch (const std::exception& e) {
    log::error("job_handler_failed", {{"error", e.what()}});
  }
  --st->in_flight;
  slot_free->cancel();
}

// One io thread: the state needs no locks. Blocking broker and email calls go to the pool.
asio::awaitable<void> fetch_loop(const worker_settings* s, queue::job_consumer* consumer, worker::job_runner* runner,
                                 asio::thread_pool* blocking, worker_state* st) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer slot_free(ex);
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  while (!st->stopping) {
    int room = s->concurrency - st->in_flight;
    if (room <= 0) {
      slot_free.expires_after(std::chrono::seconds(1));
      co_await slot_free.async_wait(token);
      continue;
    }
    auto batch = co_await asio::co_spawn(*blocking, fetch_task(consumer, std::min(room, s->fetch_batch), s->fetch_wait),
                                         asio::use_awaitable);
    for (auto& d : batch) {
      ++st->in_flight;
      asio::co_spawn(ex, run_one(runner, std::shared_ptr<queue::delivery>(std::move(d)), st, &slot_free),
                     asio::detached);
    }
  }
  while (st->in_flight > 0) {
    slot_free.expires_after(std::chrono::milliseconds(100));
    co_await slot_free.async_wait(token);
  }
}

void write_metrics(const std::string& path, const worker::job_runner& r, const email::sender& s,
                   const queue::job_consumer& c) {
  if (path.empty()) return;
  const auto& j = r.stats();
  const auto& e = s.stats();
  std::string out;
  auto line = [&](const char* name, std::uint64_t v) { out += std::string(name) + " " + std::to_string(v) + "\n"; };
  line("redoubt_worker_jobs_done_total", j.done_total);
  line("redoubt_worker_jobs_skipped_total", j.skipped_total);
  line("redoubt_worker_jobs_retried_total", j.retried_total);
  line("redoubt_worker_jobs_dead_lettered_total", j.dead_lettered_total);
  line("redoubt_worker_jobs_rejected_total", j.rejected_total);
  line("redoubt_worker_queue_reopened_total", c.reopened());
  line("redoubt_worker_email_sent_total", e.sent_total);
  line("redoubt_worker_email_failed_total", e.failed_total);
  line("redoubt_worker_email_attempts_total", e.attempts_total);
  line("redoubt_worker_email_rate_limited_total", e.rate_limited_total);
  line("redoubt_worker_email_breaker_opened_total", e.breaker_open_total);
  line("redoubt_worker_email_breaker_state", static_cast<std::uint64_t>(e.breaker.load()));
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << out;
  }
  std::rename(tmp.c_str(), path.c_str());
}

asio::awaitable<void> metrics_loop(std::string path, const worker::job_runner* r, const email::sender* s,
                                   const queue::job_consumer* c, worker_state* st) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  while (!st->stopping) {
    write_metrics(path, *r, *s, *c);
    t.expires_after(std::chrono::milliseconds(500));
    co_await t.async_wait(token);
  }
  write_metrics(path, *r, *s, *c);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/redoubt/worker.toml";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--version") {
      std::cout << "redoubt-worker 0.1.0 (schema " << storage::expected_schema_version() << ")\n";
      return 0;
    } else {
      std::cerr << "usage: redoubt-worker --config FILE\n";
      return 2;
    }
  }
  crypto::init();
  email::global_init();
  log::init("redoubt-worker", log::level::info);
  auto loaded = app::load_worker_settings(config_path);
  if (!loaded) return fail(loaded.error().message);
  worker_settings config = std::move(*loaded);
  log::set_level(parse_level(config.log_level));
  auto keys = app::read_public_key_files(config.verify_key_files);
  if (!keys) return fail(keys.error().message);
  auto provider = email::make_provider(config.email);
  if (!provider) return fail(provider.error().message);
  email::sender sender(std::move(*provider), config.email);

  asio::io_context io(1);
  asio::thread_pool blocking(static_cast<std::size_t>(config.concurrency + 2));
  auto pool = db::pool::create(io.get_executor(), config.database);
  storage::worker_repository repo(pool);
  {
    auto version = asio::co_spawn(io, storage::schema_version(*pool), asio::use_future);
    io.restart();
    while (version.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) io.run_one();
    auto v = version.get();
    if (!v) return fail("cannot read the schema version: " + v.error().message);
    if (*v != storage::expected_schema_version())
      return fail("database schema version " + std::to_string(*v) + " but this build needs " +
                  std::to_string(storage::expected_schema_version()));
  }
  queue::consumer_settings cs;
  cs.url = config.nats.url;
  cs.user = config.nats.user;
  cs.password = config.nats.password;
  cs.ca_file = config.nats.ca_file;
  auto consumer = queue::job_consumer::connect(cs);
  if (!consumer) return fail(consumer.error().message);

  // Attachments: the same store directory and master keys as the server.
  std::unique_ptr<worker::file_jobs> file_jobs;
  if (!config.files_dir.empty()) {
    auto ring = files::key_ring::parse(config.files_master_keys.reveal());
    if (!ring) return fail("files: " + ring.error().message);
    auto store = files::file_store::open(config.files_dir);
    if (!store) return fail("files: " + store.error().message);
    file_jobs = std::make_unique<worker::file_jobs>(config, repo, blocking, std::move(*store), std::move(*ring));
  }
  worker::job_runner runner(config, repo, sender, blocking, **consumer, std::move(*keys), file_jobs.get());
  worker_state state;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log::info("stopping", {{"signal", sig}});
    state.stopping = true;
  });
  asio::co_spawn(io, fetch_loop(&config, consumer->get(), &runner, &blocking, &state), [&](std::exception_ptr e) {
    if (e) log::error("worker_loop_failed");
    signals.cancel();
    state.stopping = true;
  });
  asio::co_spawn(io, metrics_loop(config.metrics_file, &runner, &sender, consumer->get(), &state), asio::detached);
  log::info("started", {{"config_fingerprint", app::config_fingerprint(config_path)},
                        {"provider", sender.provider_name()},
                        {"concurrency", config.concurrency}});
  io.restart();
  io.run();
  blocking.join();
  log::info("stopped");
  return 0;
}
