// Reads settings from one TOML file plus REDOUBT_<SECTION>_<KEY> environment overrides.
// Refuses config, password and key files that are group- or world-accessible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/errc.hpp"

namespace redoubt::app {

// Fails when path is missing, not a regular file, or has any group/other permission bits.
result<void> check_private_file(const std::string& path);

// Reads a secret file (private, trailing newline stripped).
result<secret_string> read_secret_file(const std::string& path);

// Reads Ed25519 public key files (one hex line each, as `redoubtctl keygen-signing` writes
// them) into key id -> raw key, the form signature checks take.
result<std::map<std::string, std::string>> read_public_key_files(const std::vector<std::string>& paths);

// Loads and validates the configuration; messages name the offending key or file.
result<settings> load_settings(const std::string& path);

// The same for redoubt-worker's own config file.
result<worker_settings> load_worker_settings(const std::string& path);

// SHA-256 of the config file, logged at start so that a changed config is visible.
std::string config_fingerprint(const std::string& path);

}  // namespace redoubt::app
