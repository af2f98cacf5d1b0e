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
};

// Limits: 100k messages, 256 MiB, 7 days, discard new, 64 KiB per message, 2 min duplicate
// window (Nats-Msg-Id), file storage. Consumer: explicit ack, ack wait, max_deliver.
// Idempotent: an existing stream/consumer with the same config is left as is.
result<void> setup_jobs_stream(const admin_connection& c, int max_deliver = 5, int ack_wait_seconds = 30);

}  // namespace redoubt::queue
