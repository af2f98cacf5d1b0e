// redoubt-server: composition root. Reads the config, checks the schema version, wires the
// modules together, serves until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <future>
#include <map>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>

#include "api/router.hpp"
#include "files/attachment_store.hpp"
#include "storage/attachment_repository.hpp"
#include "audit/checkpoints.hpp"
#include "audit/recorder.hpp"
#include "auth/admin.hpp"
#include "app/config_file.hpp"
#include "auth/accounts.hpp"
#include "base/log.hpp"
#include "chat/service.hpp"
#include "crypto/crypto.hpp"
#include "net/server.hpp"
#include "queue/event_bus.hpp"
#include "queue/outbox_relay.hpp"
#include "storage/migrations.hpp"
#include "storage/account_repository.hpp"
#include "storage/audit_repository.hpp"
#include "storage/message_repository.hpp"
#include "storage/outbox_repository.hpp"
#include "storage/room_repository.hpp"

namespace asio = boost::asio;
using namespace redoubt;

namespace {

log::level parse_level(const std::string& s) {
  if (s == "debug") return log::level::debug;
  if (s == "warn") return log::level::warn;
  if (s == "error") return log::level::error;
  return log::level::info;
}

// The database pool's figures in /metrics (the API does not see the pool).
void append_pool_metrics(std::string& out, const db::pool_stats& ps) {
  api::append_metric(out, "redoubt_db_pool_size", "gauge", "Open database connections.", ps.size);
  api::append_metric(out, "redoubt_db_pool_in_use", "gauge", "Database connections in use.", ps.in_use);
  api::append_metric(out, "redoubt_db_pool_waiting", "gauge", "Coroutines waiting for a connection.", ps.waiting);
  api::append_metric(out, "redoubt_db_pool_acquire_timeouts_total", "counter", "Pool acquire timeouts.",
                     ps.acquire_timeouts_total);
  api::append_metric(out, "redoubt_db_connect_failures_total", "counter", "Failed database connects.",
                     ps.connect_failures_total);
}

int fail(const std::string& what) {
  log::error("startup_failed", {{"reason", what}});
  std::cerr << "redoubt-server: " << what << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--version") {
      std::cout << "redoubt-server 0.1.0 (schema " << storage::expected_schema_version() << ")\n";
      return 0;
    } else {
      std::cerr << "usage: redoubt-server --config FILE\n";
      return 2;
    }
  }
  if (config_path.empty()) config_path = "/etc/redoubt/server.toml";
  crypto::init();
  log::init("redoubt-server", log::level::info);

  auto loaded = app::load_settings(config_path);
  if (!loaded) return fail(loaded.error().message);
  settings config = std::move(*loaded);
  log::set_level(parse_level(config.server.log_level));
  if (auto ok = app::check_private_file(config.tls.key_file); !ok) return fail(ok.error().message);
  auto policy = auth::password_policy::load(
      config.auth.min_password_length, config.auth.max_password_length,
      config.auth.common_passwords_file.empty() ? std::string("/usr/share/redoubt/common-passwords.txt")
                                                : config.auth.common_passwords_file);
  if (!policy) return fail(policy.error().message);

  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_server_tls_context(config.tls));
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  int threads = config.server.threads > 0 ? config.server.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  asio::io_context io(threads);
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> runners;
  for (int i = 0; i < threads; ++i) runners.emplace_back([&io] { io.run(); });
  auto stop_all = [&] {
    work.reset();
    io.stop();
    for (auto& t : runners) t.join();
  };

  auto pool = db::pool::create(io.get_executor(), config.database);
  auto version = asio::co_spawn(io, storage::schema_version(*pool), asio::use_future).get();
  if (!version) {
    stop_all();
    return fail("cannot read the schema version: " + version.error().message);
  }
  if (*version != storage::expected_schema_version()) {
    stop_all();
    return fail("database schema version " + std::to_string(*version) + " but this build needs " +
                std::to_string(storage::expected_schema_version()) + "; run `redoubtctl migrate`");
  }

  chat::hub hub;
  // Several nodes: committed events go to the others over NATS, theirs come in here.
  std::unique_ptr<queue::event_bus> bus;
  if (!config.nats.url.empty()) {
    queue::bus_settings bs{config.nats.url, config.nats.user, config.nats.password, config.nats.ca_file};
    queue::remote_handlers from_peers{
        [&hub](std::int64_t room, std::int64_t seq, std::string frame) {
          hub.publish_from_peer(room, seq, std::make_shared<const std::string>(std::move(frame)));
        },
        [&hub](std::int64_t room, std::int64_t user, std::int64_t seq, bool joined) {
          hub.membership_from_peer(room, user, seq, joined);
        },
        [&hub](std::int64_t room, std::int64_t except_user, std::string frame) {
          hub.publish_ephemeral_from_peer(room, std::make_shared<const std::string>(std::move(frame)), except_user);
        }};
    auto connected = queue::event_bus::connect(bs, std::move(from_peers));
    if (!connected) {
      stop_all();
      return fail(connected.error().message);
    }
    bus = std::move(*connected);
    auto* b = bus.get();
    hub.set_forwarders(chat::hub::forwarders{
        [b](chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame) { b->publish(room, seq, *frame); },
        [b](chat::room_id room, chat::user_id user, chat::seq_t seq, bool joined) {
          b->publish_membership(room, user, seq, joined);
        },
        [b](chat::room_id room, const chat::frame_ptr& frame, chat::user_id except_user) {
          b->publish_ephemeral(room, except_user, *frame);
        }});
  }
  storage::account_repository account_rows(pool);
  storage::room_repository room_rows(pool);
  storage::message_repository message_rows(pool);
  storage::audit_repository audit_rows(pool);
  storage::outbox_repository outbox_rows(pool);
  audit::recorder audit_log(audit_rows);
  chat::message_writer writer(io.get_executor(), message_rows, hub, config.limits.group_commit_max_batch,
                              config.limits.group_commit_writers);
  writer.start();
  chat::service chat_service(room_rows, message_rows, audit_log, hub, writer, config.limits);
  auth::accounts accounts(account_rows, audit_log, config.auth, std::move(*policy));
  std::map<std::string, std::string> checkpoint_keys;
  if (!config.jobs.signing_public_key.empty())
    checkpoint_keys.emplace(crypto::signing_key_id(config.jobs.signing_public_key), config.jobs.signing_public_key);
  auth::admin administration(account_rows, audit_log, std::move(checkpoint_keys));
  // Background jobs: outbox rows go to JetStream as signed envelopes (needs the broker).
  std::unique_ptr<queue::outbox_relay> relay;
  if (bus) {
    relay = std::make_unique<queue::outbox_relay>(io.get_executor(), outbox_rows, *bus, config.jobs);
    accounts.set_job_listener([r = relay.get()] { r->notify(); });
    relay->start();
  }
  // Signed audit checkpoints need the server's signing key (jobs.signing_key_file).
  std::unique_ptr<audit::audit_checkpointer> checkpointer;
  if (!config.jobs.signing_key.reveal().empty()) {
    checkpointer = std::make_unique<audit::audit_checkpointer>(io.get_executor(), audit_rows, config.jobs.signing_key,
                                                                 config.jobs.signing_public_key,
                                                                 config.jobs.audit_checkpoint_interval);
    checkpointer->start();
  }
  api::metrics stats;
  storage::attachment_repository attachment_rows(pool);
  std::unique_ptr<files::attachment_store> file_store;
  if (!config.files.dir.empty()) {
    auto ring = files::key_ring::parse(config.files.master_keys.reveal());
    auto dir = ring ? files::file_store::open(config.files.dir) : result<files::file_store>(ring.error());
    if (!ring || !dir) {
      stop_all();
      return fail("files: " + (ring ? dir.error().message : ring.error().message));
    }
    file_store = std::make_unique<files::attachment_store>(std::move(*dir), std::move(*ring),
                                                           config.files.master_key_file, config.jobs.signing_key,
                                                           config.jobs.signing_public_key, config.files.io_threads);
    log::info("attachments_enabled", {{"dir", config.files.dir}, {"max_file_bytes", config.files.max_file_bytes}});
  }
  std::optional<api::router> router;
  try {  // loads server.web_root into memory
    router.emplace(api::app_context{config, file_store.get(), attachment_rows, accounts, administration, audit_log, hub,
                                    writer, chat_service, stats, relay ? &relay->stats() : nullptr,
                                    [pool]() { return storage::ping(*pool); },
                                    [pool](std::string& out) { append_pool_metrics(out, pool->stats()); }});
  } catch (const std::exception& e) {
    stop_all();
    return fail(e.what());
  }
  std::optional<net::server> server;
  try {
    server.emplace(io, *tls, *router, config, stats);
    server->start();
  } catch (const std::exception& e) {
    stop_all();
    return fail(std::string("cannot listen: ") + e.what());
  }
  log::info("started", {{"config_fingerprint", app::config_fingerprint(config_path)},
                        {"threads", threads},
                        {"schema", *version},
                        {"url", config.server.public_origin}});

  std::promise<int> stopped;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log::info("stopping", {{"signal", sig}});
    server->stop();
    writer.stop();
    if (relay) relay->stop();
    if (checkpointer) checkpointer->stop();
    stopped.set_value(sig);
  });
  stopped.get_future().wait();
  // Give in-flight commits a moment to finish and be acknowledged.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  accounts.shutdown();
  stop_all();
  log::info("stopped");
  return 0;
}
