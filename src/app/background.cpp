#include "app/background.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "base/log.hpp"
#include "audit/checkpoints.hpp"
#include "auth/accounts.hpp"
#include "chat/hub.hpp"
#include "storage/outbox_repository.hpp"

namespace redoubt::app {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

asio::awaitable<void> audit_checkpoint_loop(kit::supervisor* loops, audit::log_store* log,
                                            const jobs_settings* jobs) {
  for (;;) {
    auto made = co_await audit::checkpoint_audit_log(*log, jobs->signing_key, jobs->signing_public_key);
    if (!made) {
      log::warn("audit_checkpoint_failed", {{"error", made.error().message}});
    } else if (*made) {
      // Also in the server log, so that a copy of the signed head lives outside the database.
      log::info("audit_checkpoint", {{"audit_id", (*made)->audit_id},
                                     {"audit_hash", (*made)->audit_hash},
                                     {"signed_at", (*made)->signed_at}});
    }
    // Named locals: g++ 12 mishandles co_await in loop conditions and call arguments.
    const bool go_on = co_await loops->pause(jobs->audit_checkpoint_interval);
    if (!go_on) co_return;
  }
}

namespace {

using enqueue_fn = asio::awaitable<result<bool>> (storage::outbox_repository::*)();

// Queues one periodic job; `queued` wakes the relay.
asio::awaitable<void> enqueue(storage::outbox_repository* repo, enqueue_fn job, std::string_view failed_event,
                              const std::function<void()>* queued) {
  auto done = co_await (repo->*job)();
  if (!done)
    log::warn(failed_event, {{"error", done.error().message}});
  else
    (*queued)();
}

}  // namespace

asio::awaitable<void> maintenance_loop(kit::supervisor* loops, storage::outbox_repository* repo,
                                       const jobs_settings* jobs, std::function<void()> queued) {
  auto next_retention = clock_type::now();
  auto next_files = clock_type::now() + jobs->files_maintenance_interval;
  for (;;) {
    if (clock_type::now() >= next_retention) {
      next_retention = clock_type::now() + jobs->retention_interval;
      co_await enqueue(repo, &storage::outbox_repository::enqueue_retention_job, "retention_enqueue_failed", &queued);
    }
    if (jobs->files_maintenance && clock_type::now() >= next_files) {
      next_files = clock_type::now() + jobs->files_maintenance_interval;
      co_await enqueue(repo, &storage::outbox_repository::enqueue_files_maintenance_job,
                       "files_maintenance_enqueue_failed", &queued);
    }
    auto next = jobs->files_maintenance ? std::min(next_retention, next_files) : next_retention;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - clock_type::now());
    const bool go_on = co_await loops->pause(std::max(wait, std::chrono::milliseconds(1)));
    if (!go_on) co_return;
  }
}

namespace {

// Closes the connections whose session is no longer valid; the others' sessions count as used.
asio::awaitable<void> check_live_sessions(chat::hub* hub, auth::accounts* accounts) {
  auto connected = hub->live_sessions();
  if (connected.empty()) co_return;
  std::vector<std::int64_t> ids;
  ids.reserve(connected.size());
  for (const auto& c : connected) ids.push_back(c.session);
  auto valid = co_await accounts->live_sessions(ids);
  if (!valid) {
    // Unknown is not ended: a database outage must not disconnect everyone.
    log::warn("live_session_check_failed", {{"error", valid.error().message}});
    co_return;
  }
  const std::unordered_set<std::int64_t> still(valid->begin(), valid->end());
  for (const auto& c : connected) {
    if (still.contains(c.session)) continue;
    log::info("session_ended_found", {{"user_id", c.user}, {"session_id", c.session}});
    hub->end_sessions_from_peer(chat::session_end{c.user, c.session, std::nullopt});
  }
}

}  // namespace

asio::awaitable<void> live_session_loop(kit::supervisor* loops, chat::hub* hub, auth::accounts* accounts,
                                        const auth_settings* auth) {
  for (;;) {
    const bool go_on = co_await loops->pause(auth->live_session_check);
    if (!go_on) co_return;
    co_await check_live_sessions(hub, accounts);
  }
}

}  // namespace redoubt::app
