#include "worker_config.hpp"

#include "kit/config_reader.hpp"

namespace redoubt::worker {

namespace {

using kit::check_private_file;
using kit::config_reader;
using kit::read_secret_file;

void read_worker(config_reader& r, worker_settings& w) {
  r.strings("jobs", "verify_key_files", w.verify_key_files);
  r.str("worker", "public_origin", w.public_origin);
  r.str("worker", "log_level", w.log_level);
  r.str("worker", "metrics_file", w.metrics_file);
  r.integer("worker", "fetch_batch", w.fetch_batch, 1, 256);
  r.duration("worker", "fetch_wait_ms", w.fetch_wait, 10, 60000);
  r.integer("worker", "concurrency", w.concurrency, 1, 256);
  r.integer("worker", "max_deliver", w.max_deliver, 1, 100);
  r.duration("worker", "retry_backoff_ms", w.retry_backoff, 10, 3600000);
  r.duration("worker", "verify_token_ttl_s", w.verify_token_ttl, 60, 30 * 86400);
  r.duration("worker", "reset_token_ttl_s", w.reset_token_ttl, 60, 86400);
  r.duration("worker", "drain_timeout_ms", w.drain_timeout, 0, 600000);
  r.duration("worker", "loop_restart_backoff_ms", w.loop_restart_backoff, 1, 600000);
  r.str("files", "dir", w.files_dir);
  r.str("files", "master_key_file", w.files_master_key_file);
  r.str("files", "clamd_socket", w.clamd_socket);
  r.duration("files", "clamd_timeout_s", w.clamd_timeout, 1, 3600);
  r.duration("files", "unattached_ttl_s", w.unattached_ttl, 1, 365LL * 86400);
  r.duration("files", "orphan_grace_s", w.orphan_grace, 0, 30LL * 86400);
  r.integer("files", "thumbnail_max_pixels", w.thumbnail_max_pixels, 1, 1000000000);
  r.integer("files", "thumbnail_size", w.thumbnail_size, 16, 2048);
}

struct email_secret_files {
  std::string api_key, smtp_password;
};

void read_email(config_reader& r, email_settings& e, email_secret_files& files) {
  r.str("email", "provider", e.provider);
  r.str("email", "from_address", e.from_address);
  r.str("email", "from_name", e.from_name);
  r.str("email", "mailbox_dir", e.mailbox_dir);
  r.str("email", "https_url", e.https_url);
  r.str("email", "api_key_file", files.api_key);
  r.str("email", "smtp_url", e.smtp_url);
  r.str("email", "smtp_user", e.smtp_user);
  r.str("email", "smtp_password_file", files.smtp_password);
  r.str("email", "ca_file", e.ca_file);
  r.str("email", "client_cert_file", e.client_cert_file);
  r.str("email", "client_key_file", e.client_key_file);
  r.duration("email", "connect_timeout_ms", e.connect_timeout, 100, 600000);
  r.duration("email", "total_timeout_ms", e.total_timeout, 100, 600000);
  r.integer("email", "attempts", e.attempts, 1, 20);
  r.duration("email", "backoff_initial_ms", e.backoff_initial, 1, 600000);
  r.duration("email", "backoff_max_ms", e.backoff_max, 1, 3600000);
  r.integer("email", "breaker_failures", e.breaker_failures, 1, 1000);
  r.duration("email", "breaker_cooldown_ms", e.breaker_cooldown, 10, 3600000);
  r.integer("email", "per_recipient_per_hour", e.per_recipient_per_hour, 1, 100000);
  r.integer("email", "global_per_second", e.global_per_second, 1, 100000);
}

result<void> finish_email(email_settings& e, const email_secret_files& files) {
  if (e.provider == "mailbox") {
    if (e.mailbox_dir.empty())
      return make_error(errc::invalid_argument, "email.mailbox_dir is required");
  } else if (e.provider == "https") {
    if (e.https_url.rfind("https://", 0) != 0)
      return make_error(errc::invalid_argument, "email.https_url must start with https://");
    if (files.api_key.empty())
      return make_error(errc::invalid_argument, "email.api_key_file is required");
    auto key = read_secret_file(files.api_key);
    if (!key) return key.error();
    e.api_key = std::move(*key);
  } else if (e.provider == "smtp") {
    if (e.smtp_url.rfind("smtps://", 0) != 0 && e.smtp_url.rfind("smtp://", 0) != 0)
      return make_error(errc::invalid_argument,
                        "email.smtp_url must start with smtps:// or smtp:// (STARTTLS)");
    if (!files.smtp_password.empty()) {
      auto pw = read_secret_file(files.smtp_password);
      if (!pw) return pw.error();
      e.smtp_password = std::move(*pw);
    }
  } else {
    return make_error(errc::invalid_argument, "email.provider must be mailbox, https or smtp");
  }
  if (!e.client_key_file.empty()) {
    if (auto ok = check_private_file(e.client_key_file); !ok) return ok.error();
  }
  return {};
}

}  // namespace

result<worker_settings> load_worker_settings(const std::string& path) {
  worker_settings w;
  w.nats.user = "redoubt_worker";
  std::string db_password_file, nats_password_file;
  email_secret_files email_files;
  auto read = kit::read_config_file(path, [&](config_reader& r) {
    kit::read_database(r, w.database, db_password_file);
    kit::read_nats(r, w.nats, nats_password_file);
    read_worker(r, w);
    read_email(r, w.email, email_files);
  });
  if (!read) return read.error();
  if (auto ok = kit::finish_database(w.database, db_password_file); !ok) return ok.error();
  if (w.nats.url.empty()) return make_error(errc::invalid_argument, "nats.url is required");
  if (auto ok = kit::finish_nats(w.nats, nats_password_file); !ok) return ok.error();
  if (w.verify_key_files.empty())
    return make_error(errc::invalid_argument, "jobs.verify_key_files is required");
  if (auto ok = finish_email(w.email, email_files); !ok) return ok.error();
  if (!w.files_dir.empty()) {
    if (w.files_master_key_file.empty())
      return make_error(errc::invalid_argument, "files.master_key_file is required with files.dir");
    auto keys = read_secret_file(w.files_master_key_file);
    if (!keys) return keys.error();
    w.files_master_keys = std::move(*keys);
  }
  return w;
}

}  // namespace redoubt::worker
