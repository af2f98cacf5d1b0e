#include "app/config_file.hpp"

#include "crypto/crypto.hpp"
#include "kit/config_reader.hpp"
#include "queue/bus_seal.hpp"

namespace redoubt::app {

namespace {

using kit::config_reader;
using kit::read_secret_file;

void read_server(config_reader& r, settings& s) {
  auto& sv = s.server;
  r.str("server", "listen_address", sv.listen_address);
  r.integer("server", "listen_port", sv.listen_port, 1, 65535);
  r.integer("server", "threads", sv.threads, 0, 256);
  r.str("server", "public_origin", sv.public_origin);
  r.strings("server", "allowed_origins", sv.allowed_origins);
  r.str("server", "web_root", sv.web_root);
  r.str("server", "log_level", sv.log_level);
  r.duration("server", "drain_timeout_ms", sv.drain_timeout, 0, 600000);
  r.duration("server", "loop_restart_backoff_ms", sv.loop_restart_backoff, 1, 600000);
  r.strings("access", "blocked_networks", s.access.blocked_networks);
}

void read_jobs(config_reader& r, jobs_settings& j) {
  r.duration("jobs", "relay_interval_ms", j.relay_interval, 10, 600000);
  r.duration("jobs", "claim_timeout_s", j.claim_timeout, 1, 3600);
  r.duration("jobs", "republish_after_s", j.republish_after, 1, 7 * 86400);
  r.integer("jobs", "relay_batch", j.relay_batch, 1, 10000);
  r.duration("jobs", "publish_timeout_ms", j.publish_timeout, 100, 600000);
  r.duration("jobs", "retention_interval_s", j.retention_interval, 1, 7 * 86400);
  r.duration("jobs", "files_maintenance_interval_s", j.files_maintenance_interval, 1, 7 * 86400);
  r.duration("jobs", "audit_checkpoint_interval_s", j.audit_checkpoint_interval, 1, 7 * 86400);
  r.integer("jobs", "outbox_alarm_rows", j.outbox_alarm_rows, 1, 1LL << 40);
  r.duration("jobs", "outbox_alarm_age_s", j.outbox_alarm_age, 1, 30 * 86400);
}

void read_files(config_reader& r, files_settings& f) {
  r.str("files", "dir", f.dir);
  r.str("files", "master_key_file", f.master_key_file);
  r.integer("files", "max_file_bytes", f.max_file_bytes, 0, 1LL << 40);
  r.integer("files", "default_quota_bytes", f.default_quota_bytes, 0, 1LL << 50);
  r.integer("files", "min_free_disk_bytes", f.min_free_disk_bytes, 0, 1LL << 50);
  r.integer("files", "upload_bytes_per_second", f.upload_bytes_per_second, 1024, 1LL << 40);
  r.integer("files", "download_bytes_per_second", f.download_bytes_per_second, 1024, 1LL << 40);
  r.integer("files", "min_upload_bytes_per_second", f.min_upload_bytes_per_second, 0, 1LL << 30);
  r.duration("files", "upload_grace_s", f.upload_grace, 1, 3600);
  r.duration("files", "upload_stall_timeout_s", f.upload_stall_timeout, 1, 3600);
  r.integer("files", "io_threads", f.io_threads, 1, 64);
  r.boolean("files", "scan", f.scan);
}

void read_auth(config_reader& r, auth_settings& a) {
  r.integer("auth", "argon2_opslimit", a.argon2_opslimit, 1, 100);
  r.integer("auth", "argon2_memlimit_kib", a.argon2_memlimit_kib, 8, 4 * 1024 * 1024);
  r.integer("auth", "hash_threads", a.hash_threads, 1, 64);
  r.integer("auth", "min_password_length", a.min_password_length, 8, 128);
  r.integer("auth", "max_password_length", a.max_password_length, 64, 4096);
  r.duration("auth", "session_idle_timeout_s", a.session_idle_timeout, 60, 365LL * 86400);
  r.duration("auth", "session_absolute_timeout_s", a.session_absolute_timeout, 60, 365LL * 86400);
  r.duration("auth", "live_session_check_s", a.live_session_check, 1, 3600);
  r.integer("auth", "login_failures_per_minute", a.login_failures_per_minute, 1, 100000);
  r.integer("auth", "login_failures_per_minute_per_ip", a.login_failures_per_minute_per_ip, 1, 1000000);
  r.integer("auth", "login_failures_per_hour_per_account", a.login_failures_per_hour_per_account, 2, 100000);
  r.integer("auth", "login_failures_reserved_for_known_ips", a.login_failures_reserved_for_known_ips, 0, 100000);
  r.integer("auth", "signups_per_hour_per_ip", a.signups_per_hour_per_ip, 1, 10000000);
  r.integer("auth", "password_resets_per_hour_per_ip", a.password_resets_per_hour_per_ip, 1, 10000000);
  r.integer("auth", "password_resets_per_hour_per_address", a.password_resets_per_hour_per_address, 1, 1000);
  r.str("auth", "common_passwords_file", a.common_passwords_file);
}

// Timeouts of the network edge (net/).
void read_timeouts(config_reader& r, limits_settings& l) {
  r.duration("limits", "tls_handshake_timeout_s", l.tls_handshake_timeout, 1, 600);
  r.duration("limits", "header_read_timeout_s", l.header_read_timeout, 1, 600);
  r.duration("limits", "body_read_timeout_s", l.body_read_timeout, 1, 3600);
  r.duration("limits", "ws_idle_timeout_s", l.ws_idle_timeout, 2, 3600);
  r.duration("limits", "write_timeout_s", l.write_timeout, 1, 3600);
  r.duration("limits", "error_write_timeout_s", l.error_write_timeout, 1, 600);
  r.duration("limits", "lingering_close_timeout_s", l.lingering_close_timeout, 1, 600);
  r.duration("limits", "tls_shutdown_timeout_s", l.tls_shutdown_timeout, 1, 600);
  r.duration("limits", "ws_close_timeout_ms", l.ws_close_timeout, 20, 600000);
}

void read_limits(config_reader& r, limits_settings& l) {
  r.integer("limits", "max_header_bytes", l.max_header_bytes, 1024, 1 << 20);
  r.integer("limits", "max_body_bytes", l.max_body_bytes, 1024, 64 << 20);
  r.integer("limits", "max_ws_message_bytes", l.max_ws_message_bytes, 1024, 16 << 20);
  r.integer("limits", "max_message_body_chars", l.max_message_body_chars, 1, 1 << 20);
  r.integer("limits", "max_ws_send_queue_frames", l.max_ws_send_queue_frames, 1, 1 << 20);
  r.integer("limits", "max_ws_send_queue_bytes", l.max_ws_send_queue_bytes, 1024, 1LL << 30);
  r.integer("limits", "max_inflight_sends_per_connection", l.max_inflight_sends_per_connection, 1,
            100000);
  r.integer("limits", "max_connections", l.max_connections, 1, 10000000);
  r.integer("limits", "max_connections_per_ip", l.max_connections_per_ip, 1, 10000000);
  r.integer("limits", "max_ws_per_user", l.max_ws_per_user, 1, 100000);
  read_timeouts(r, l);
  r.integer("limits", "history_page_max", l.history_page_max, 1, 10000);
  r.integer("limits", "messages_per_second", l.messages_per_second, 1, 1000000);
  r.integer("limits", "messages_burst", l.messages_burst, 1, 1000000);
  r.integer("limits", "typing_per_10s", l.typing_per_10s, 1, 1000);
  r.integer("limits", "history_requests_per_second", l.history_requests_per_second, 1, 1000000);
  r.integer("limits", "history_burst", l.history_burst, 1, 1000000);
  r.integer("limits", "requests_per_second_per_ip", l.requests_per_second_per_ip, 1, 10000000);
  r.integer("limits", "requests_burst_per_ip", l.requests_burst_per_ip, 1, 10000000);
  r.integer("limits", "group_commit_max_batch", l.group_commit_max_batch, 1, 10000);
  r.integer("limits", "group_commit_writers", l.group_commit_writers, 1, 64);
}

// The names of the secret files; their contents are read once every key was read.
struct secret_files {
  std::string database_password, nats_password, signing_key, webhook_secret, cluster_key, metrics_token;
};

result<void> finish_signing_key(jobs_settings& j, const std::string& signing_key_file) {
  auto key = read_secret_file(signing_key_file);
  if (!key) return key.error();
  auto raw = crypto::from_hex(key->reveal());
  if (!raw)
    return make_error(errc::invalid_argument,
                      "jobs.signing_key_file must hold a hex Ed25519 secret key");
  j.signing_key = secret_string(std::move(*raw));
  auto pk = crypto::signing_public_key(j.signing_key);
  if (!pk)
    return make_error(errc::invalid_argument, "jobs.signing_key_file: " + pk.error().message);
  j.signing_public_key = std::move(*pk);
  return {};
}

// Several nodes seal what they send each other with the cluster key (queue/bus_seal.hpp).
result<void> finish_cluster_key(nats_settings& n, const std::string& cluster_key_file) {
  if (n.url.empty()) return {};
  if (cluster_key_file.empty())
    return make_error(errc::invalid_argument,
                      "nats.cluster_key_file is required when nats.url is set (redoubtctl keygen-cluster)");
  auto text = read_secret_file(cluster_key_file);
  if (!text) return text.error();
  if (auto keys = queue::parse_cluster_keys(text->reveal()); !keys)
    return make_error(errc::invalid_argument, "nats.cluster_key_file: " + keys.error().message);
  n.cluster_keys = std::move(*text);
  return {};
}

result<void> finish_files(settings& s) {
  auto& f = s.files;
  if (f.dir.empty()) return {};
  if (f.master_key_file.empty())
    return make_error(errc::invalid_argument, "files.master_key_file is required with files.dir");
  if (s.jobs.signing_key.reveal().empty())
    return make_error(errc::invalid_argument,
                      "jobs.signing_key_file is required with files.dir (signed write records)");
  auto keys = read_secret_file(f.master_key_file);
  if (!keys) return keys.error();
  f.master_keys = std::move(*keys);
  s.jobs.files_maintenance = true;
  return {};
}

result<void> finish(settings& s, const secret_files& files) {
  if (auto ok = kit::finish_database(s.database, files.database_password); !ok) return ok.error();
  if (auto ok = kit::finish_nats(s.nats, files.nats_password); !ok) return ok.error();
  if (!files.signing_key.empty()) {
    if (auto ok = finish_signing_key(s.jobs, files.signing_key); !ok) return ok.error();
  }
  if (!s.nats.url.empty() && s.jobs.signing_key.reveal().empty())
    return make_error(errc::invalid_argument,
                      "jobs.signing_key_file is required when nats.url is set");
  if (auto ok = finish_cluster_key(s.nats, files.cluster_key); !ok) return ok.error();
  if (!files.webhook_secret.empty()) {
    auto secret = read_secret_file(files.webhook_secret);
    if (!secret) return secret.error();
    if (secret->reveal().size() < 32)
      return make_error(errc::invalid_argument,
                        "email_webhook.secret_file must hold at least 32 characters");
    s.email_webhook.secret = std::move(*secret);
  }
  if (!files.metrics_token.empty()) {
    auto token = read_secret_file(files.metrics_token);
    if (!token) return token.error();
    if (token->reveal().size() < 32)
      return make_error(errc::invalid_argument, "server.metrics_token_file must hold at least 32 characters");
    s.server.metrics_token = std::move(*token);
  }
  if (auto ok = finish_files(s); !ok) return ok.error();
  if (s.auth.login_failures_reserved_for_known_ips >= s.auth.login_failures_per_hour_per_account)
    return make_error(errc::invalid_argument,
                      "auth.login_failures_reserved_for_known_ips must be below login_failures_per_hour_per_account");
  if (s.server.allowed_origins.empty()) s.server.allowed_origins.push_back(s.server.public_origin);
  return {};
}

void read_all(config_reader& r, settings& s, secret_files& files) {
  read_server(r, s);
  r.str("server", "metrics_token_file", files.metrics_token);
  kit::read_nats(r, s.nats, files.nats_password);
  r.str("nats", "cluster_key_file", files.cluster_key);
  r.str("jobs", "signing_key_file", files.signing_key);
  read_jobs(r, s.jobs);
  read_files(r, s.files);
  r.str("email_webhook", "secret_file", files.webhook_secret);
  r.duration("email_webhook", "tolerance_s", s.email_webhook.tolerance, 10, 3600);
  r.str("tls", "cert_file", s.tls.cert_file);
  r.str("tls", "key_file", s.tls.key_file);
  kit::read_database(r, s.database, files.database_password);
  read_auth(r, s.auth);
  read_limits(r, s.limits);
}

}  // namespace

result<settings> load_settings(const std::string& path) {
  settings s;
  secret_files files;
  auto read = kit::read_config_file(path, [&](config_reader& r) { read_all(r, s, files); });
  if (!read) return read.error();
  if (auto ok = finish(s, files); !ok) return ok.error();
  return s;
}

}  // namespace redoubt::app
