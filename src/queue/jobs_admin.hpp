// Broker setup for background jobs, done with the broker's admin account (redoubtctl
// nats-setup, and the test harness): stream JOBS and its durable pull consumer "worker".
#pragma once

#include <string>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::queue {

struct admin_connection {
  std::string url;  // tls://...
  std::string user = "redoubt_admin";
  secret_string password;
  std::string ca_file;
  std::string expected_hostname;  // empty = the URL's host
  std::string inbox_prefix = "_INBOX.admin";
};

// Work-queue retention: a job leaves the stream once the worker acknowledged (or terminated)
// it, so the limits bound what is waiting, not what ran this week. Limits: 100k messages,
// 256 MiB, 7 days, discard new (a full stream refuses jobs; they wait in the outbox), 64 KiB per
// message, 2 min duplicate window (Nats-Msg-Id), file storage. Consumer: explicit ack, ack
// wait, max_deliver.
// Idempotent: an existing stream with other limits is updated to these. A stream made with
// another retention policy (before work-queue retention; the broker cannot change it in place)
// is deleted and made again: its jobs are still in the outbox, which publishes unfinished ones
// again after jobs.republish_after_s.
struct stream_setup {
  bool recreated = false;
};
result<stream_setup> setup_jobs_stream(const admin_connection& c, int max_deliver = 5, int ack_wait_seconds = 30);

}  // namespace redoubt::queue
