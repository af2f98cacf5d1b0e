// redoubt-server's periodic loops, run under kit::supervisor (which restarts one that throws
// and ends their pauses on stop): signed audit checkpoints, and queueing the retention and
// attachment clean-up jobs that the worker runs.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>

#include "base/config.hpp"
#include "kit/supervisor.hpp"

namespace redoubt::audit {
class log_store;
}
namespace redoubt::auth {
class accounts;
}
namespace redoubt::chat {
class hub;
}
namespace redoubt::storage {
class outbox_repository;
}

namespace redoubt::app {

// Signs the audit log's head now and then every jobs.audit_checkpoint_interval (each node
// may; the database keeps one checkpoint per head).
boost::asio::awaitable<void> audit_checkpoint_loop(kit::supervisor* loops, audit::log_store* log,
                                                   const jobs_settings* jobs);

// Queues the retention job now and then every jobs.retention_interval, and the attachment
// clean-up job every jobs.files_maintenance_interval when attachments are on (any node may; a
// pending one blocks more). `queued` is called after each, to wake the outbox relay.
boost::asio::awaitable<void> maintenance_loop(kit::supervisor* loops, storage::outbox_repository* outbox,
                                              const jobs_settings* jobs,
                                              std::function<void()> queued);

// Every auth.live_session_check, closes this node's connections whose session ended without
// the bus saying so (a lost message, a change made in the database) or went idle, and marks
// the others' sessions used.
boost::asio::awaitable<void> live_session_loop(kit::supervisor* loops, chat::hub* hub, auth::accounts* accounts,
                                               const auth_settings* auth);

}  // namespace redoubt::app
