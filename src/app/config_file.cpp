#include "app/config_file.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <toml.hpp>

#include "crypto/crypto.hpp"
#include "db/pg.hpp"

namespace redoubt::app {

result<void> check_private_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_error(errc::failed_precondition, "cannot read '" + path + "'");
  if (!S_ISREG(st.st_mode)) return make_error(errc::failed_precondition, "'" + path + "' is not a regular file");
  if ((st.st_mode & 077) != 0)
    return make_error(errc::failed_precondition,
                      "'" + path + "' is accessible by group or others (mode " +
                          std::to_string(st.st_mode & 0777) + " octal " + [&] {
                            std::ostringstream o;
                            o << std::oct << (st.st_mode & 0777);
                            return o.str();
                          }() + "); run: chmod 600 '" + path + "'");
  return {};
}

result<std::map<std::string, std::string>> read_public_key_files(const std::vector<std::string>& paths) {
  std::map<std::string, std::string> keys;
  for (const auto& f : paths) {
    std::ifstream in(f);
    std::string hex;
    if (!in || !std::getline(in, hex)) return make_error(errc::failed_precondition, "cannot read '" + f + "'");
    auto raw = crypto::from_hex(hex);
    if (!raw || raw->size() != 32) return make_error(errc::invalid_argument, "'" + f + "' is not a hex Ed25519 public key");
    keys.emplace(crypto::signing_key_id(*raw), std::move(*raw));
  }
  return keys;
}

result<secret_string> read_secret_file(const std::string& path) {
  if (auto ok = check_private_file(path); !ok) return ok.error();
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::failed_precondition, "cannot read '" + path + "'");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return make_error(errc::failed_precondition, "secret file '" + path + "' is empty");
  return secret_string(std::move(s));
}

std::string config_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return crypto::sha256_hex(s).substr(0, 16);
}

namespace {

std::optional<std::string> env_override(const std::string& section, const std::string& key) {
  std::string name = "REDOUBT_" + section + "_" + key;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

struct reader {
  const toml::value& root;
  std::string problem;

  const toml::value* find(const std::string& section, const std::string& key) const {
    if (!root.contains(section)) return nullptr;
    const auto& sec = root.at(section);
    if (!sec.is_table() || !sec.contains(key)) return nullptr;
    return &sec.at(key);
  }

  void str(const std::string& section, const std::string& key, std::string& out) {
    if (auto e = env_override(section, key)) {
      out = *e;
      return;
    }
    if (auto* v = find(section, key)) {
      if (!v->is_string()) problem = section + "." + key + " must be a string";
      else out = v->as_string().str;
    }
  }

  template <class Int>
  void integer(const std::string& section, const std::string& key, Int& out, long long min, long long max) {
    long long value;
    if (auto e = env_override(section, key)) {
      char* end = nullptr;
      value = std::strtoll(e->c_str(), &end, 10);
      if (e->empty() || *end != '\0') {
        problem = "environment override for " + section + "." + key + " must be an integer";
        return;
      }
    } else if (auto* v = find(section, key)) {
      if (!v->is_integer()) {
        problem = section + "." + key + " must be an integer";
        return;
      }
      value = v->as_integer();
    } else {
      return;
    }
    if (value < min || value > max) {
      problem = section + "." + key + " must be between " + std::to_string(min) + " and " + std::to_string(max);
      return;
    }
    out = static_cast<Int>(value);
  }

  template <class Duration>
  void duration(const std::string& section, const std::string& key, Duration& out, long long min, long long max) {
    long long v = out.count();
    integer(section, key, v, min, max);
    out = Duration(v);
  }

  void boolean(const std::string& section, const std::string& key, bool& out) {
    if (auto e = env_override(section, key)) {
      if (*e == "true" || *e == "1") out = true;
      else if (*e == "false" || *e == "0") out = false;
      else problem = "environment override for " + section + "." + key + " must be true or false";
      return;
    }
    if (auto* v = find(section, key)) {
      if (!v->is_boolean()) problem = section + "." + key + " must be true or false";
      else out = v->as_boolean();
    }
  }

  void strings(const std::string& section, const std::string& key, std::vector<std::string>& out) {
    if (auto* v = find(section, key)) {
      if (!v->is_array()) {
        problem = section + "." + key + " must be an array of strings";
        return;
      }
      out.clear();
      for (const auto& item : v->as_array()) {
        if (!item.is_string()) {
          problem = section + "." + key + " must be an array of strings";
          return;
        }
        out.push_back(item.as_string().str);
      }
    }
  }
};

void read_database(reader& r, database_settings& db, std::string& password_file) {
  r.str("database", "conninfo", db.conninfo);
  r.str("database", "password_file", password_file);
  r.integer("database", "pool_size", db.pool_size, 1, 1000);
  r.duration("database", "connect_timeout_ms", db.connect_timeout, 100, 600000);
  r.duration("database", "statement_timeout_ms", db.statement_timeout, 10, 3600000);
  r.duration("database", "idle_in_transaction_timeout_ms", db.idle_in_transaction_timeout, 100, 3600000);
  r.duration("database", "acquire_timeout_ms", db.acquire_timeout, 10, 600000);
}

void read_nats(reader& r, nats_settings& nats, std::string& password_file) {
  r.str("nats", "url", nats.url);
  r.str("nats", "user", nats.user);
  r.str("nats", "ca_file", nats.ca_file);
  r.str("nats", "password_file", password_file);
}

result<void> finish_database(database_settings& db, const std::string& password_file) {
  if (db.conninfo.empty()) return make_error(errc::invalid_argument, "database.conninfo is required");
  if (db.conninfo.find("password") != std::string::npos)
    return make_error(errc::invalid_argument,
                      "database.conninfo must not contain a password; use database.password_file");
  if (auto secure = db::check_conninfo_security(db.conninfo); !secure) return secure.error();
  if (!password_file.empty()) {
    auto pw = read_secret_file(password_file);
    if (!pw) return pw.error();
    db.password = std::move(*pw);
  }
  return {};
}

result<void> finish_nats(nats_settings& nats, const std::string& password_file) {
  if (nats.url.empty()) return {};
  if (nats.url.rfind("tls://", 0) != 0)
    return make_error(errc::invalid_argument, "nats.url must start with tls:// (TLS is required)");
  if (password_file.empty()) return make_error(errc::invalid_argument, "nats.password_file is required");
  auto pw = read_secret_file(password_file);
  if (!pw) return pw.error();
  nats.password = std::move(*pw);
  return {};
}

result<toml::value> parse_private_toml(const std::string& path) {
  if (auto ok = check_private_file(path); !ok) return ok.error();
  try {
    return toml::parse(path);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, std::string("cannot parse config: ") + e.what());
  }
}

}  // namespace

result<worker_settings> load_worker_settings(const std::string& path) {
  auto root = parse_private_toml(path);
  if (!root) return root.error();
  worker_settings w;
  w.nats.user = "redoubt_worker";
  reader r{*root, {}};
  std::string db_password_file, nats_password_file;
  read_database(r, w.database, db_password_file);
  read_nats(r, w.nats, nats_password_file);
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
  r.str("files", "dir", w.files_dir);
  r.str("files", "master_key_file", w.files_master_key_file);
  r.str("files", "clamd_socket", w.clamd_socket);
  r.duration("files", "clamd_timeout_s", w.clamd_timeout, 1, 3600);
  r.duration("files", "unattached_ttl_s", w.unattached_ttl, 1, 365LL * 86400);
  r.duration("files", "orphan_grace_s", w.orphan_grace, 0, 30LL * 86400);
  r.integer("files", "thumbnail_max_pixels", w.thumbnail_max_pixels, 1, 1000000000);
  r.integer("files", "thumbnail_size", w.thumbnail_size, 16, 2048);
  auto& e = w.email;
  r.str("email", "provider", e.provider);
  r.str("email", "from_address", e.from_address);
  r.str("email", "from_name", e.from_name);
  r.str("email", "mailbox_dir", e.mailbox_dir);
  r.str("email", "https_url", e.https_url);
  std::string api_key_file, smtp_password_file;
  r.str("email", "api_key_file", api_key_file);
  r.str("email", "smtp_url", e.smtp_url);
  r.str("email", "smtp_user", e.smtp_user);
  r.str("email", "smtp_password_file", smtp_password_file);
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
  if (!r.problem.empty()) return make_error(errc::invalid_argument, r.problem);
  if (auto ok = finish_database(w.database, db_password_file); !ok) return ok.error();
  if (w.nats.url.empty()) return make_error(errc::invalid_argument, "nats.url is required");
  if (auto ok = finish_nats(w.nats, nats_password_file); !ok) return ok.error();
  if (w.verify_key_files.empty()) return make_error(errc::invalid_argument, "jobs.verify_key_files is required");
  if (e.provider == "mailbox") {
    if (e.mailbox_dir.empty()) return make_error(errc::invalid_argument, "email.mailbox_dir is required");
  } else if (e.provider == "https") {
    if (e.https_url.rfind("https://", 0) != 0)
      return make_error(errc::invalid_argument, "email.https_url must start with https://");
    if (api_key_file.empty()) return make_error(errc::invalid_argument, "email.api_key_file is required");
    auto key = read_secret_file(api_key_file);
    if (!key) return key.error();
    e.api_key = std::move(*key);
  } else if (e.provider == "smtp") {
    if (e.smtp_url.rfind("smtps://", 0) != 0 && e.smtp_url.rfind("smtp://", 0) != 0)
      return make_error(errc::invalid_argument, "email.smtp_url must start with smtps:// or smtp:// (STARTTLS)");
    if (!smtp_password_file.empty()) {
      auto pw = read_secret_file(smtp_password_file);
      if (!pw) return pw.error();
      e.smtp_password = std::move(*pw);
    }
  } else {
    return make_error(errc::invalid_argument, "email.provider must be mailbox, https or smtp");
  }
  if (!e.client_key_file.empty()) {
    if (auto ok = check_private_file(e.client_key_file); !ok) return ok.error();
  }
  if (!w.files_dir.empty()) {
    if (w.files_master_key_file.empty())
      return make_error(errc::invalid_argument, "files.master_key_file is required with files.dir");
    auto keys = read_secret_file(w.files_master_key_file);
    if (!keys) return keys.error();
    w.files_master_keys = std::move(*keys);
  }
  return w;
}

result<settings> load_settings(const std::string& path) {
  auto root = parse_private_toml(path);
  if (!root) return root.error();
  settings s;
  reader r{*root, {}};
  auto& sv = s.server;
  r.str("server", "listen_address", sv.listen_address);
  r.integer("server", "listen_port", sv.listen_port, 1, 65535);
  r.integer("server", "threads", sv.threads, 0, 256);
  r.str("server", "public_origin", sv.public_origin);
  r.strings("server", "allowed_origins", sv.allowed_origins);
  r.str("server", "web_root", sv.web_root);
  r.str("server", "log_level", sv.log_level);
  r.strings("access", "blocked_networks", s.access.blocked_networks);
  std::string nats_password_file;
  read_nats(r, s.nats, nats_password_file);
  std::string signing_key_file;
  r.str("jobs", "signing_key_file", signing_key_file);
  r.duration("jobs", "relay_interval_ms", s.jobs.relay_interval, 10, 600000);
  r.duration("jobs", "claim_timeout_s", s.jobs.claim_timeout, 1, 3600);
  r.duration("jobs", "republish_after_s", s.jobs.republish_after, 1, 7 * 86400);
  r.integer("jobs", "relay_batch", s.jobs.relay_batch, 1, 10000);
  r.duration("jobs", "publish_timeout_ms", s.jobs.publish_timeout, 100, 600000);
  r.duration("jobs", "retention_interval_s", s.jobs.retention_interval, 1, 7 * 86400);
  r.duration("jobs", "files_maintenance_interval_s", s.jobs.files_maintenance_interval, 1, 7 * 86400);
  r.duration("jobs", "audit_checkpoint_interval_s", s.jobs.audit_checkpoint_interval, 1, 7 * 86400);
  r.integer("jobs", "outbox_alarm_rows", s.jobs.outbox_alarm_rows, 1, 1LL << 40);
  r.duration("jobs", "outbox_alarm_age_s", s.jobs.outbox_alarm_age, 1, 30 * 86400);
  auto& f = s.files;
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
  std::string webhook_secret_file;
  r.str("email_webhook", "secret_file", webhook_secret_file);
  r.duration("email_webhook", "tolerance_s", s.email_webhook.tolerance, 10, 3600);
  r.str("tls", "cert_file", s.tls.cert_file);
  r.str("tls", "key_file", s.tls.key_file);
  auto& db = s.database;
  std::string password_file;
  read_database(r, db, password_file);
  auto& a = s.auth;
  r.integer("auth", "argon2_opslimit", a.argon2_opslimit, 1, 100);
  r.integer("auth", "argon2_memlimit_kib", a.argon2_memlimit_kib, 8, 4 * 1024 * 1024);
  r.integer("auth", "hash_threads", a.hash_threads, 1, 64);
  r.integer("auth", "min_password_length", a.min_password_length, 8, 128);
  r.integer("auth", "max_password_length", a.max_password_length, 64, 4096);
  r.duration("auth", "session_idle_timeout_s", a.session_idle_timeout, 60, 365LL * 86400);
  r.duration("auth", "session_absolute_timeout_s", a.session_absolute_timeout, 60, 365LL * 86400);
  r.integer("auth", "login_failures_per_minute", a.login_failures_per_minute, 1, 100000);
  r.str("auth", "common_passwords_file", a.common_passwords_file);
  auto& l = s.limits;
  r.integer("limits", "max_header_bytes", l.max_header_bytes, 1024, 1 << 20);
  r.integer("limits", "max_body_bytes", l.max_body_bytes, 1024, 64 << 20);
  r.integer("limits", "max_ws_message_bytes", l.max_ws_message_bytes, 1024, 16 << 20);
  r.integer("limits", "max_message_body_chars", l.max_message_body_chars, 1, 1 << 20);
  r.integer("limits", "max_ws_send_queue_frames", l.max_ws_send_queue_frames, 1, 1 << 20);
  r.integer("limits", "max_ws_send_queue_bytes", l.max_ws_send_queue_bytes, 1024, 1LL << 30);
  r.integer("limits", "max_inflight_sends_per_connection", l.max_inflight_sends_per_connection, 1, 100000);
  r.integer("limits", "max_connections", l.max_connections, 1, 10000000);
  r.duration("limits", "tls_handshake_timeout_s", l.tls_handshake_timeout, 1, 600);
  r.duration("limits", "header_read_timeout_s", l.header_read_timeout, 1, 600);
  r.duration("limits", "body_read_timeout_s", l.body_read_timeout, 1, 3600);
  r.duration("limits", "ws_idle_timeout_s", l.ws_idle_timeout, 2, 3600);
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
  if (!r.problem.empty()) return make_error(errc::invalid_argument, r.problem);

  if (auto ok = finish_database(db, password_file); !ok) return ok.error();
  if (auto ok = finish_nats(s.nats, nats_password_file); !ok) return ok.error();
  if (!signing_key_file.empty()) {
    auto key = read_secret_file(signing_key_file);
    if (!key) return key.error();
    auto raw = crypto::from_hex(key->reveal());
    if (!raw) return make_error(errc::invalid_argument, "jobs.signing_key_file must hold a hex Ed25519 secret key");
    s.jobs.signing_key = secret_string(std::move(*raw));
    auto pk = crypto::signing_public_key(s.jobs.signing_key);
    if (!pk) return make_error(errc::invalid_argument, "jobs.signing_key_file: " + pk.error().message);
    s.jobs.signing_public_key = std::move(*pk);
  }
  if (!s.nats.url.empty() && s.jobs.signing_key.reveal().empty())
    return make_error(errc::invalid_argument, "jobs.signing_key_file is required when nats.url is set");
  if (!webhook_secret_file.empty()) {
    auto secret = read_secret_file(webhook_secret_file);
    if (!secret) return secret.error();
    if (secret->reveal().size() < 32)
      return make_error(errc::invalid_argument, "email_webhook.secret_file must hold at least 32 characters");
    s.email_webhook.secret = std::move(*secret);
  }
  if (!f.dir.empty()) {
    if (f.master_key_file.empty())
      return make_error(errc::invalid_argument, "files.master_key_file is required with files.dir");
    if (s.jobs.signing_key.reveal().empty())
      return make_error(errc::invalid_argument, "jobs.signing_key_file is required with files.dir (signed write records)");
    auto keys = read_secret_file(f.master_key_file);
    if (!keys) return keys.error();
    f.master_keys = std::move(*keys);
    s.jobs.files_maintenance = true;
  }
  if (sv.allowed_origins.empty()) sv.allowed_origins.push_back(sv.public_origin);
  return s;
}

}  // namespace redoubt::app
