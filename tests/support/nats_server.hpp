// A throwaway NATS broker with JetStream for integration tests (config from
// scripts/nats-config.sh, nats-server run as a child_process, log in DIR/nats.log): TLS with the
// dev CA for every client, bcrypt users redoubt_server/worker/admin with subject permissions,
// stream JOBS and its durable pull consumer "worker" (created with the admin user). Started once
// per test binary on first use; stopped and deleted at process exit.
#pragma once

#include <nats/nats.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace redoubt::test {

enum class nats_role { server, worker, admin };

class nats_server {
 public:
  static nats_server& shared();

  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  const std::string& dir() const { return dir_.path(); }
  int port() const { return port_; }
  std::string url() const { return "tls://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_file() const { return ca_file_; }

  static const char* user(nats_role role);          // "redoubt_<role>"
  static const char* inbox_prefix(nats_role role);  // "_INBOX.<role>": the only replies it may read
  std::string password(nats_role role) const;       // from DIR/secrets/<role>.pass
  // Writes a new password for the role and regenerates nats.conf; takes effect at the next
  // start (call it while the broker is stopped).
  void set_password(nats_role role, const std::string& password);

  // The server nodes' cluster key file (0600, made on first use): what nodes send each other
  // over this broker is sealed with it (queue/bus_seal.hpp); the broker never reads it.
  std::string cluster_key_file() const;

  // Options for `role`: url(), TLS verified against ca_file() for host "localhost", user and
  // password, the role's inbox prefix, 2 s connect timeout, no reconnect. Caller destroys them.
  natsOptions* options(nats_role role) const;

  // Stream JOBS (jobs.>) and durable pull consumer "worker" (queue::setup_jobs_stream);
  // idempotent. Done at start, with this ack wait (set it before the first shared()).
  void create_jobs_stream() const;
  static int ack_wait_seconds;
  // Lowers (or raises) stream JOBS's message limit, as the admin; create_jobs_stream() puts
  // the configured limits back. Returns the number of messages in the stream.
  std::uint64_t set_jobs_stream_max_msgs(std::int64_t max_msgs) const;

  // For "broker down" tests; the JetStream file store survives a restart. start() waits (15 s)
  // until the admin user can connect; stop() is SIGTERM, then SIGKILL after 10 s.
  void stop();
  void start();

 private:
  nats_server();
  void write_config() const;

  temp_dir dir_;
  int port_ = 0;
  std::string ca_file_;
  child_process process_;  // declared after dir_: stopped before the directory goes
};

}  // namespace redoubt::test
