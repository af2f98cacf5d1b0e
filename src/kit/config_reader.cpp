#include "kit/config_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "crypto/crypto.hpp"
#include "db/pg.hpp"

namespace redoubt::kit {

result<void> check_private_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error(errc::failed_precondition, "cannot read '" + path + "'");
  if (!S_ISREG(st.st_mode))
    return make_error(errc::failed_precondition, "'" + path + "' is not a regular file");
  if ((st.st_mode & 077) != 0) {
    std::ostringstream octal;
    octal << std::oct << (st.st_mode & 0777);
    return make_error(errc::failed_precondition,
                      "'" + path + "' is accessible by group or others (mode " +
                          std::to_string(st.st_mode & 0777) + " octal " + octal.str() +
                          "); run: chmod 600 '" + path + "'");
  }
  // Another account that owns the file could change it (chmod it back, swap a key in).
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return make_error(errc::failed_precondition, "'" + path + "' is owned by uid " + std::to_string(st.st_uid) +
                                                     ", neither this process's user (uid " +
                                                     std::to_string(::geteuid()) + ") nor root");
  return {};
}

result<std::map<std::string, std::string>> read_public_key_files(
    const std::vector<std::string>& paths) {
  std::map<std::string, std::string> keys;
  for (const auto& f : paths) {
    std::ifstream in(f);
    std::string hex;
    if (!in || !std::getline(in, hex))
      return make_error(errc::failed_precondition, "cannot read '" + f + "'");
    auto raw = crypto::from_hex(hex);
    if (!raw || raw->size() != 32)
      return make_error(errc::invalid_argument, "'" + f + "' is not a hex Ed25519 public key");
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
  if (s.empty())
    return make_error(errc::failed_precondition, "secret file '" + path + "' is empty");
  return secret_string(std::move(s));
}

std::string config_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return crypto::sha256_hex(s).substr(0, 16);
}

result<toml::value> parse_private_toml(const std::string& path) {
  if (auto ok = check_private_file(path); !ok) return ok.error();
  try {
    return toml::parse(path);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, std::string("cannot parse config: ") + e.what());
  }
}

result<void> read_config_file(const std::string& path,
                              const std::function<void(config_reader&)>& read) {
  auto root = parse_private_toml(path);
  if (!root) return root.error();
  config_reader r{*root, {}};
  read(r);
  if (!r.problem.empty()) return make_error(errc::invalid_argument, r.problem);
  return {};
}

namespace {

std::optional<std::string> env_override(const std::string& section, const std::string& key) {
  std::string name = "REDOUBT_" + section + "_" + key;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

}  // namespace

const toml::value* config_reader::find(const std::string& section, const std::string& key) const {
  if (!root.contains(section)) return nullptr;
  const auto& sec = root.at(section);
  if (!sec.is_table() || !sec.contains(key)) return nullptr;
  return &sec.at(key);
}

void config_reader::str(const std::string& section, const std::string& key, std::string& out) {
  if (auto e = env_override(section, key)) {
    out = *e;
    return;
  }
  if (auto* v = find(section, key)) {
    if (!v->is_string())
      problem = section + "." + key + " must be a string";
    else
      out = v->as_string().str;
  }
}

void config_reader::integer(const std::string& section, const std::string& key, long long& out,
                            long long min, long long max) {
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
    problem = section + "." + key + " must be between " + std::to_string(min) + " and " +
              std::to_string(max);
    return;
  }
  out = value;
}

void config_reader::boolean(const std::string& section, const std::string& key, bool& out) {
  if (auto e = env_override(section, key)) {
    if (*e == "true" || *e == "1")
      out = true;
    else if (*e == "false" || *e == "0")
      out = false;
    else
      problem = "environment override for " + section + "." + key + " must be true or false";
    return;
  }
  if (auto* v = find(section, key)) {
    if (!v->is_boolean())
      problem = section + "." + key + " must be true or false";
    else
      out = v->as_boolean();
  }
}

void config_reader::strings(const std::string& section, const std::string& key,
                            std::vector<std::string>& out) {
  auto* v = find(section, key);
  if (!v) return;
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

void read_database(config_reader& r, database_settings& db, std::string& password_file) {
  r.str("database", "conninfo", db.conninfo);
  r.str("database", "password_file", password_file);
  r.integer("database", "pool_size", db.pool_size, 1, 1000);
  r.duration("database", "connect_timeout_ms", db.connect_timeout, 100, 600000);
  r.duration("database", "statement_timeout_ms", db.statement_timeout, 10, 3600000);
  r.duration("database", "idle_in_transaction_timeout_ms", db.idle_in_transaction_timeout, 100,
             3600000);
  r.duration("database", "acquire_timeout_ms", db.acquire_timeout, 10, 600000);
}

void read_nats(config_reader& r, nats_settings& nats, std::string& password_file) {
  r.str("nats", "url", nats.url);
  r.str("nats", "user", nats.user);
  r.str("nats", "ca_file", nats.ca_file);
  r.str("nats", "password_file", password_file);
}

result<void> finish_database(database_settings& db, const std::string& password_file) {
  if (db.conninfo.empty())
    return make_error(errc::invalid_argument, "database.conninfo is required");
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
  if (password_file.empty())
    return make_error(errc::invalid_argument, "nats.password_file is required");
  auto pw = read_secret_file(password_file);
  if (!pw) return pw.error();
  nats.password = std::move(*pw);
  return {};
}

}  // namespace redoubt::kit
