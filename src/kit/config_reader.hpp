// What the server's and the worker's config loaders share: private TOML files, secret and key
// files, REDOUBT_<SECTION>_<KEY> environment overrides, typed reads with bounds, and the
// [database] and [nats] sections both programs have. The first problem found is kept and
// names the offending key or file.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <toml.hpp>

#include "base/config.hpp"
#include "base/errc.hpp"

namespace redoubt::kit {

// Fails when path is missing, not a regular file, has any group/other permission bits, or is
// owned by an account other than this process's user or root.
result<void> check_private_file(const std::string& path);

// Reads a secret file (private, trailing newline stripped).
result<secret_string> read_secret_file(const std::string& path);

// Reads Ed25519 public key files (one hex line each, as `redoubtctl keygen-signing` writes
// them) into key id -> raw key, the form signature checks take.
result<std::map<std::string, std::string>> read_public_key_files(
    const std::vector<std::string>& paths);

// SHA-256 of the config file, logged at start so that a changed config is visible.
std::string config_fingerprint(const std::string& path);

// Parses a TOML file that must be private to its owner (it names secret files).
result<toml::value> parse_private_toml(const std::string& path);

// Reads `[section] key` (or its environment override) into `out` when present; keeps `out`
// (the default) when absent. The first problem is kept in `problem`.
struct config_reader {
  const toml::value& root;
  std::string problem;

  void str(const std::string& section, const std::string& key, std::string& out);
  void integer(const std::string& section, const std::string& key, long long& out, long long min,
               long long max);
  template <class Int>
  void integer(const std::string& section, const std::string& key, Int& out, long long min,
               long long max) {
    auto value = static_cast<long long>(out);
    integer(section, key, value, min, max);
    out = static_cast<Int>(value);
  }
  template <class Duration>
  void duration(const std::string& section, const std::string& key, Duration& out, long long min,
                long long max) {
    long long v = out.count();
    integer(section, key, v, min, max);
    out = Duration(v);
  }
  void boolean(const std::string& section, const std::string& key, bool& out);
  void strings(const std::string& section, const std::string& key, std::vector<std::string>& out);

 private:
  const toml::value* find(const std::string& section, const std::string& key) const;
};

// Parses the private TOML file at `path` and lets `read` fill the settings from it; the
// problem the reads kept, if any, is the error. Checks across keys come after, by the caller.
result<void> read_config_file(const std::string& path,
                              const std::function<void(config_reader&)>& read);

// [database]: read, then checked (a conninfo without password and with verified TLS) and the
// password file read.
void read_database(config_reader& r, database_settings& db, std::string& password_file);
result<void> finish_database(database_settings& db, const std::string& password_file);

// [nats]: read, then checked (tls:// only) and the password file read; no url = no broker.
void read_nats(config_reader& r, nats_settings& nats, std::string& password_file);
result<void> finish_nats(nats_settings& nats, const std::string& password_file);

}  // namespace redoubt::kit
