// All tunables of redoubt-server in one place: every limit, timeout and size lives here.
// Filled from the TOML file (+ REDOUBT_* environment overrides) by app/config_file (server)
// and worker/worker_config (worker), both on kit/config_reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/secret.hpp"

namespace redoubt {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct database_settings {
  std::string conninfo;        // libpq keywords; never a password
  secret_string password;      // read from password_file
  int pool_size = 8;
  milliseconds connect_timeout{5000};
  milliseconds statement_timeout{5000};
  milliseconds idle_in_transaction_timeout{10000};
  milliseconds acquire_timeout{3000};  // waiting for a pooled connection
};

struct tls_settings {
  std::string cert_file;
  std::string key_file;
};

struct auth_settings {
  // Argon2id cost. Interactive defaults per libsodium; tests lower them.
  std::uint64_t argon2_opslimit = 2;
  std::uint64_t argon2_memlimit_kib = 64 * 1024;
  int hash_threads = 2;               // bounded pool for password hashing
  std::size_t min_password_length = 12;
  std::size_t max_password_length = 256;
  seconds session_idle_timeout{7 * 24 * 3600};
  seconds session_absolute_timeout{30 * 24 * 3600};
  // How often each node checks the sessions of its open WebSockets against the database (a
  // session that ended without the bus telling this node closes then; an open connection
  // counts as use of its session).
  seconds live_session_check{30};
  // Failed sign-ins (only failures count; a success gives its attempt back). Limits per
  // (username, IP) and per IP stop guessing and password spraying from one address without
  // letting anyone lock out a chosen account. Every account also has a budget over all IPs: at
  // most login_failures_per_hour_per_account in any hour (ASVS V2.2.1); the part
  // login_failures_reserved_for_known_ips is kept for IPs the account has signed in from
  // before, so its owner still gets in while strangers have spent the rest. A spent budget
  // refuses (429 + retry time) until it refills: it slows an account, it never locks it.
  int login_failures_per_minute = 10;           // per (username, IP)
  int login_failures_per_minute_per_ip = 50;    // per IP, all usernames together
  int login_failures_per_hour_per_account = 100;
  int login_failures_reserved_for_known_ips = 20;
  // Sign-ups (each costs a password hash and an email) and password-reset requests (each
  // sends an email), as token buckets: the number is the burst and the refill per hour.
  int signups_per_hour_per_ip = 10;
  int password_resets_per_hour_per_ip = 10;
  int password_resets_per_hour_per_address = 3;  // whether or not the address has an account
  std::string common_passwords_file;   // bundled list; empty = built-in path
};

struct limits_settings {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_ws_message_bytes = 64 * 1024;
  std::size_t max_message_body_chars = 8000;   // Unicode scalar values
  std::size_t max_attachments_per_message = 10;
  std::size_t max_ws_send_queue_frames = 1024;
  std::size_t max_ws_send_queue_bytes = 4 * 1024 * 1024;
  std::size_t max_inflight_sends_per_connection = 64;
  std::size_t max_connections = 18000;
  std::size_t max_connections_per_ip = 1000;  // open TCP connections from one address
  std::size_t max_ws_per_user = 32;           // live WebSockets of one user on this node
  seconds tls_handshake_timeout{10};
  seconds header_read_timeout{10};
  seconds body_read_timeout{30};
  seconds http_keepalive_timeout{60};
  seconds ws_idle_timeout{60};  // ping every half of it; close if nothing comes back
  seconds write_timeout{30};        // one response, or one piece of a download, to a slow reader
  seconds error_write_timeout{5};   // the error response before a refused connection closes
  seconds lingering_close_timeout{2};  // reading and discarding after a refusal, before closing
  seconds tls_shutdown_timeout{3};     // the TLS close_notify exchange at the end of a connection
  milliseconds ws_close_timeout{5000};  // a WebSocket close handshake in progress
  int history_page_max = 200;
  int messages_per_second = 20;  // per user (all their connections and REST together), token bucket
  int messages_burst = 60;
  int typing_per_10s = 10;
  int history_requests_per_second = 10;  // per user: history is the expensive read
  int history_burst = 30;
  int requests_per_second_per_ip = 50;
  int requests_burst_per_ip = 200;
  std::size_t max_room_name_chars = 80;
  std::size_t max_topic_chars = 500;
  std::size_t group_commit_max_batch = 256;
  int group_commit_writers = 2;
};

struct server_settings {
  std::string listen_address = "127.0.0.1";
  unsigned short listen_port = 8443;
  int threads = 0;  // 0 = one per core
  std::string public_origin = "https://localhost:8443";
  std::vector<std::string> allowed_origins;  // WebSocket / CSRF Origin allowlist
  std::string web_root;                      // built web client; empty = none
  std::string log_level = "info";
  // From metrics_token_file: GET /metrics needs "Authorization: Bearer <token>"; empty = /metrics
  // is not exposed (404).
  secret_string metrics_token;
  // On SIGTERM: stop accepting, then wait this long at most for requests and sends in flight.
  milliseconds drain_timeout{5000};
  milliseconds loop_restart_backoff{1000};  // a long-lived loop that threw starts again after this
};

struct access_settings {
  // Connections from these networks (CIDR, e.g. "203.0.113.0/24", "2001:db8::/32") are closed
  // at accept, before TLS.
  std::vector<std::string> blocked_networks;
};

struct nats_settings {
  std::string url;            // "tls://127.0.0.1:4222"; empty = single node
  std::string user = "redoubt_server";
  secret_string password;     // read from password_file
  std::string ca_file;
  // The server's cluster key file's text (queue/bus_seal.hpp): seals what nodes send each other.
  secret_string cluster_keys;
};

// Background jobs: the server's outbox relay and signing key (see queue/envelope.hpp).
struct jobs_settings {
  secret_string signing_key;       // raw Ed25519 secret key, from signing_key_file (hex)
  std::string signing_public_key;  // derived from it
  milliseconds relay_interval{1000};  // outbox poll when nothing wakes the relay
  seconds claim_timeout{30};          // a relay that died mid-publish loses its claim after this
  seconds republish_after{300};       // published but not completed by the worker: publish again
  int relay_batch = 100;
  milliseconds publish_timeout{5000};  // waiting for the JetStream publish ack
  seconds retention_interval{3600};    // how often the retention job is queued
  seconds files_maintenance_interval{3600};  // how often attachment clean-up is queued
  bool files_maintenance = false;            // set when attachments are enabled
  // The server signs the audit log's head this often (storage/audit_checkpoints.hpp).
  seconds audit_checkpoint_interval{600};
  // Backlog alarm (WEB-16): unpublished outbox rows beyond either bound log outbox_backlog
  // (error) and set redoubt_outbox_backlog_alarm until the outbox drains below both.
  std::int64_t outbox_alarm_rows = 10000;
  seconds outbox_alarm_age{600};
};

// The email provider's delivery/bounce webhook (POST /api/v1/hooks/email).
struct email_webhook_settings {
  secret_string secret;   // from secret_file; empty = webhook disabled (404)
  seconds tolerance{300};  // accepted age of the signed timestamp, either way
};

// Attachments (see files/). Per-user and global limits of uploads live here too.
struct files_settings {
  std::string dir;              // attachment store; empty = attachments disabled (404)
  std::string master_key_file;  // key ring: "<id> <hex key>" lines, the last one current
  secret_string master_keys;    // its content
  std::uint64_t max_file_bytes = 100ull << 20;
  std::uint64_t default_quota_bytes = 1ull << 30;      // per user; admins override per user
  std::uint64_t min_free_disk_bytes = 1ull << 30;      // refuse uploads that would go below this
  std::uint64_t upload_bytes_per_second = 64ull << 20;  // per user, all uploads together
  std::uint64_t download_bytes_per_second = 128ull << 20;  // per user, all downloads together
  std::uint64_t min_upload_bytes_per_second = 8 << 10;  // slower (after the grace) is refused
  seconds upload_grace{10};
  seconds upload_stall_timeout{20};  // no byte at all for this long
  int io_threads = 2;                // bounded pool for file I/O and sealing
  bool scan = false;                 // the worker scans uploads (ClamAV) before they are served
};

struct settings {
  server_settings server;
  files_settings files;
  nats_settings nats;
  jobs_settings jobs;
  email_webhook_settings email_webhook;
  access_settings access;
  tls_settings tls;
  database_settings database;
  auth_settings auth;
  limits_settings limits;
};

}  // namespace redoubt

namespace redoubt {

// ---- redoubt-worker ----

struct email_settings {
  std::string provider = "mailbox";  // mailbox | https | smtp
  std::string from_address = "redoubt@localhost.localdomain";
  std::string from_name = "Redoubt";
  std::string mailbox_dir;           // mailbox: one .eml file per email
  std::string https_url;             // https: provider's JSON send endpoint
  secret_string api_key;             // https: from api_key_file
  std::string smtp_url;              // smtp: smtps://host:465 or smtp://host:587 (STARTTLS required)
  std::string smtp_user;
  secret_string smtp_password;       // from smtp_password_file
  std::string ca_file;               // trust anchors for the provider; empty = system store
  std::string client_cert_file;      // optional mutual TLS
  std::string client_key_file;
  milliseconds connect_timeout{5000};
  milliseconds total_timeout{15000};
  int attempts = 3;                  // per job delivery, with exponential backoff + jitter
  milliseconds backoff_initial{200};
  milliseconds backoff_max{5000};
  int breaker_failures = 5;          // consecutive failures that open the circuit
  milliseconds breaker_cooldown{30000};
  int per_recipient_per_hour = 20;
  int global_per_second = 50;
};

struct worker_settings {
  database_settings database;
  nats_settings nats;
  std::vector<std::string> verify_key_files;  // trusted server public keys (hex), for rotation
  std::string public_origin = "https://localhost:8443";  // for links in emails
  std::string log_level = "info";
  int fetch_batch = 16;
  milliseconds fetch_wait{1000};
  int concurrency = 32;                // jobs run at once (each mostly waits on I/O)
  int max_deliver = 5;                 // must match the consumer; then dead-lettered
  milliseconds retry_backoff{1000};    // NAK delay, doubled per delivery
  seconds verify_token_ttl{24 * 3600};
  seconds reset_token_ttl{30 * 60};
  std::string metrics_file;            // Prometheus text written every few seconds; empty = off
  milliseconds drain_timeout{10000};   // on SIGTERM: jobs in flight may finish for this long
  milliseconds loop_restart_backoff{1000};  // a long-lived loop that threw starts again after this
  email_settings email;
  // Attachments: thumbnails, malware scan and clean-up (same directory and keys as the server).
  std::string files_dir;
  secret_string files_master_keys;     // from files_master_key_file
  std::string files_master_key_file;
  std::string clamd_socket;            // unix socket of clamd; empty = no scanning
  seconds clamd_timeout{60};
  seconds unattached_ttl{24 * 3600};   // uploads never attached to a message are erased after
  seconds orphan_grace{3600};          // files without a row are removed once this old
  std::uint64_t thumbnail_max_pixels = 40'000'000;  // decoded size limit (decompression bombs)
  int thumbnail_size = 320;
};

}  // namespace redoubt
