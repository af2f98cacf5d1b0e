// Reads redoubt-server's settings (also redoubtctl's) from one TOML file plus
// REDOUBT_<SECTION>_<KEY> environment overrides. Refuses config, password and key files that
// are group- or world-accessible (kit/config_reader.hpp holds what the worker shares).
#pragma once

#include <string>

#include "base/config.hpp"
#include "base/errc.hpp"

namespace redoubt::app {

// Loads and validates the configuration; messages name the offending key or file.
result<settings> load_settings(const std::string& path);

}  // namespace redoubt::app
