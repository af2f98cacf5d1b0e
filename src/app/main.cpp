// redoubt-server: composition root. Reads the config, checks the schema version, wires the
// modules together, serves until SIGINT/SIGTERM, then drains: stops accepting, lets the work
// in flight finish within server.drain_timeout_ms, and exits.
#include <csignal>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "api/router.hpp"
#include "app/background.hpp"
#include "app/config_file.hpp"
#include "audit/recorder.hpp"
#include "auth/accounts.hpp"
#include "auth/admin.hpp"
#include "base/log.hpp"
#include "chat/service.hpp"
#include "crypto/crypto.hpp"
#include "files/attachment_store.hpp"
#include "kit/config_reader.hpp"
#include "kit/metrics.hpp"
#include "kit/process.hpp"
#include "kit/supervisor.hpp"
#include "net/server.hpp"
#include "queue/broker_settings.hpp"
#include "queue/event_bus.hpp"
#include "queue/outbox_relay.hpp"
#include "storage/account_repository.hpp"
#include "storage/attachment_repository.hpp"
#include "storage/audit_repository.hpp"
#include "storage/message_repository.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox_repository.hpp"
#include "storage/room_repository.hpp"

namespace asio = boost::asio;
using namespace redoubt;

namespace {

const kit::program_info program{"redoubt-server", "redoubt-server: the Redoubt chat server",
                                "/etc/redoubt/server.toml", storage::expected_schema_version()};

// io_context threads, joined by stop().
struct io_threads {
  io_threads(asio::io_context& io, int n) : io_(io), work_(asio::make_work_guard(io)) {
    for (int i = 0; i < n; ++i) runners_.emplace_back([&io] { io.run(); });
  }
  ~io_threads() { stop(); }
  void stop() {
    work_.reset();
    io_.stop();
    for (auto& t : runners_)
      if (t.joinable()) t.join();
  }

 private:
  asio::io_context& io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> runners_;
};

// The repositories behind the domain's ports: the one place that knows which implements which.
struct stores {
  explicit stores(const std::shared_ptr<db::pool>& pool)
      : accounts(pool), rooms(pool), messages(pool), audit(pool), outbox(pool), attachments(pool) {}
  storage::account_repository accounts;
  storage::room_repository rooms;
  storage::message_repository messages;
  storage::audit_repository audit;
  storage::outbox_repository outbox;
  storage::attachment_repository attachments;
};

// Keys the administration page checks audit checkpoints with (this server's own).
std::map<std::string, std::string> checkpoint_keys(const jobs_settings& jobs) {
  std::map<std::string, std::string> keys;
  if (!jobs.signing_public_key.empty())
    keys.emplace(crypto::signing_key_id(jobs.signing_public_key), jobs.signing_public_key);
  return keys;
}

// The database pool's figures in /metrics (the API does not see the pool).
// Frames from the broker that did not open with the cluster key, or came too late or twice.
void append_bus_metrics(kit::exposition& out, const queue::event_bus::refused_counts& r) {
  constexpr std::string_view name = "redoubt_bus_frames_refused_total";
  constexpr std::string_view help = "Frames from the broker refused (not sealed with the cluster key, stale, replayed).";
  out.counter(name, help, static_cast<double>(r.malformed), {{"reason", "malformed"}});
  out.counter(name, help, static_cast<double>(r.unknown_key), {{"reason", "unknown_key"}});
  out.counter(name, help, static_cast<double>(r.forged), {{"reason", "forged"}});
  out.counter(name, help, static_cast<double>(r.stale), {{"reason", "stale"}});
  out.counter(name, help, static_cast<double>(r.replayed), {{"reason", "replayed"}});
}

void append_pool_metrics(std::string& out, const db::pool_stats& ps) {
  api::append_metric(out, "redoubt_db_pool_size", "gauge", "Open database connections.", ps.size);
  api::append_metric(out, "redoubt_db_pool_in_use", "gauge", "Database connections in use.", ps.in_use);
  api::append_metric(out, "redoubt_db_pool_waiting", "gauge", "Coroutines waiting for a connection.", ps.waiting);
  api::append_metric(out, "redoubt_db_pool_acquire_timeouts_total", "counter", "Pool acquire timeouts.",
                     ps.acquire_timeouts_total);
  api::append_metric(out, "redoubt_db_connect_failures_total", "counter", "Failed database connects.",
                     ps.connect_failures_total);
}

// Several nodes: committed events go to the others over NATS, theirs come in here.
result<std::unique_ptr<queue::event_bus>> connect_bus(const settings& config, chat::hub& hub) {
  queue::remote_handlers from_peers{
      [&hub](std::int64_t room, std::int64_t seq, std::string frame) {
        hub.publish_from_peer(room, seq, std::make_shared<const std::string>(std::move(frame)));
      },
      [&hub](std::int64_t room, std::int64_t user, std::int64_t seq, bool joined) {
        hub.membership_from_peer(room, user, seq, joined);
      },
      [&hub](std::int64_t room, std::int64_t except_user, std::string frame) {
        hub.publish_ephemeral_from_peer(room, std::make_shared<const std::string>(std::move(frame)),
                                        except_user);
      },
      [&hub](std::int64_t user, std::optional<std::int64_t> session, std::optional<std::int64_t> keep) {
        hub.end_sessions_from_peer(chat::session_end{user, session, keep});
      }};
  auto bus_config = queue::client_settings<queue::bus_settings>(config.nats);
  bus_config.cluster_keys = config.nats.cluster_keys;
  auto connected = queue::event_bus::connect(bus_config, std::move(from_peers));
  if (!connected) return connected.error();
  auto* b = connected->get();
  hub.set_forwarders(chat::hub::forwarders{
      [b](chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame) {
        b->publish(room, seq, *frame);
      },
      [b](chat::room_id room, chat::user_id user, chat::seq_t seq, bool joined) {
        b->publish_membership(room, user, seq, joined);
      },
      [b](chat::room_id room, const chat::frame_ptr& frame, chat::user_id except_user) {
        b->publish_ephemeral(room, except_user, *frame);
      },
      [b](const chat::session_end& ended) { b->publish_session_end(ended.user, ended.session, ended.keep); }});
  return connected;
}

result<std::unique_ptr<files::attachment_store>> open_file_store(const settings& config) {
  if (config.files.dir.empty()) return std::unique_ptr<files::attachment_store>();
  auto ring = files::key_ring::parse(config.files.master_keys.reveal());
  if (!ring) return make_error(ring.error().code, "files: " + ring.error().message);
  auto dir = files::file_store::open(config.files.dir);
  if (!dir) return make_error(dir.error().code, "files: " + dir.error().message);
  log::info("attachments_enabled",
            {{"dir", config.files.dir}, {"max_file_bytes", config.files.max_file_bytes}});
  return std::make_unique<files::attachment_store>(
      std::move(*dir), std::move(*ring), config.files.master_key_file, config.jobs.signing_key,
      config.jobs.signing_public_key, config.files.io_threads);
}

// Waits until no request or WebSocket frame is in flight and no message waits for its commit,
// or until the deadline.
void wait_for_work_in_flight(const api::metrics& stats, const chat::message_writer& writer,
                             std::chrono::steady_clock::time_point deadline) {
  while (stats.work_in_flight.load() > 0 || writer.stats().queued > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      log::warn("drain_timeout", {{"in_flight", stats.work_in_flight.load()}});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int wait_for_signal(asio::io_context& io) {
  std::promise<int> stopped;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) { stopped.set_value(sig); });
  return stopped.get_future().get();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  if (auto done = kit::parse_command_line(argc, argv, program, config_path)) return *done;
  crypto::init();
  kit::start_logging(program);
  auto loaded = app::load_settings(config_path);
  if (!loaded) return kit::fail(program.name, loaded.error().message);
  settings config = std::move(*loaded);
  kit::set_log_level(config.server.log_level);
  if (auto ok = kit::check_private_file(config.tls.key_file); !ok)
    return kit::fail(program.name, ok.error().message);
  auto policy =
      auth::password_policy::load(config.auth.min_password_length, config.auth.max_password_length,
                                  config.auth.common_passwords_file.empty()
                                      ? std::string("/usr/share/redoubt/common-passwords.txt")
                                      : config.auth.common_passwords_file);
  if (!policy) return kit::fail(program.name, policy.error().message);
  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_server_tls_context(config.tls));
  } catch (const std::exception& e) {
    return kit::fail(program.name, e.what());
  }

  int threads = config.server.threads > 0
                    ? config.server.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  asio::io_context io(threads);
  io_threads runners(io, threads);
  // From here on the io threads stop before anything they may touch goes away.
  auto refuse = [&runners](const std::string& what) {
    runners.stop();
    return kit::fail(program.name, what);
  };
  auto pool = db::pool::create(io.get_executor(), config.database);
  stores db(pool);
  auto version = kit::run_blocking(io, storage::schema_version(*pool));
  if (auto ok = kit::check_schema_version(version, program.schema_version); !ok)
    return refuse(ok.error().message);

  chat::hub hub;
  std::unique_ptr<queue::event_bus> bus;
  if (!config.nats.url.empty()) {
    auto connected = connect_bus(config, hub);
    if (!connected) return refuse(connected.error().message);
    bus = std::move(*connected);
  }
  audit::recorder audit_log(db.audit);
  chat::message_writer writer(io.get_executor(), db.messages, hub, config.limits.group_commit_max_batch,
                              config.limits.group_commit_writers);
  writer.start();
  chat::service chat_service(db.rooms, db.messages, audit_log, hub, writer, config.limits);
  auth::accounts accounts(db.accounts, audit_log, config.auth, std::move(*policy));
  auth::admin administration(db.accounts, audit_log, checkpoint_keys(config.jobs));
  accounts.set_session_listener([&hub](const chat::session_end& ended) { hub.end_sessions(ended); });
  administration.set_session_listener([&hub](const chat::session_end& ended) { hub.end_sessions(ended); });
  kit::supervisor loops(io.get_executor(), config.server.loop_restart_backoff);
  loops.spawn("live_sessions", [&loops, &hub, &accounts, &config] {
    return app::live_session_loop(&loops, &hub, &accounts, &config.auth);
  });
  // Background jobs: outbox rows go to JetStream as signed envelopes (needs the broker).
  std::unique_ptr<queue::outbox_relay> relay;
  if (bus) {
    relay = std::make_unique<queue::outbox_relay>(io.get_executor(), db.outbox, *bus, config.jobs);
    auto* r = relay.get();
    accounts.set_job_listener([r] { r->notify(); });
    loops.spawn("outbox_relay", [r] { return r->run(); });
    loops.spawn("maintenance", [&loops, &db, &config, r] {
      return app::maintenance_loop(&loops, &db.outbox, &config.jobs, [r] { r->notify(); });
    });
  }
  // Signed audit checkpoints need the server's signing key (jobs.signing_key_file).
  if (!config.jobs.signing_key.reveal().empty())
    loops.spawn("audit_checkpoints", [&loops, &db, &config] {
      return app::audit_checkpoint_loop(&loops, &db.audit, &config.jobs);
    });
  api::metrics stats;
  auto file_store = open_file_store(config);
  if (!file_store) return refuse(file_store.error().message);
  std::optional<api::router> router;
  try {  // loads server.web_root into memory
    router.emplace(api::app_context{config, file_store->get(), db.attachments, accounts, administration, audit_log, hub,
                                    writer, chat_service, stats, relay ? &relay->stats() : nullptr,
                                    [pool]() { return storage::ping(*pool); },
                                    [pool, &loops, &bus](std::string& out) {
                                      append_pool_metrics(out, pool->stats());
                                      kit::exposition loop_metrics;
                                      loops.collect(loop_metrics, "redoubt_");
                                      if (bus) append_bus_metrics(loop_metrics, bus->refused());
                                      out += loop_metrics.text();
                                    }});
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  std::optional<net::server> server;
  try {
    server.emplace(io, *tls, *router, config, stats);
    server->start();
  } catch (const std::exception& e) {
    return refuse(std::string("cannot listen: ") + e.what());
  }
  log::info("started", {{"config_fingerprint", kit::config_fingerprint(config_path)},
                        {"threads", threads},
                        {"schema", *version},
                        {"url", config.server.public_origin}});

  int sig = wait_for_signal(io);
  auto deadline = std::chrono::steady_clock::now() + config.server.drain_timeout;
  log::info("stopping", {{"signal", sig}, {"in_flight", stats.work_in_flight.load()}});
  server->stop();
  writer.stop();  // commits what is queued, takes no more
  wait_for_work_in_flight(stats, writer, deadline);
  loops.stop();
  if (relay) relay->stop();
  loops.wait_ended(deadline);
  accounts.shutdown();
  runners.stop();
  log::info("stopped");
  return 0;
}
