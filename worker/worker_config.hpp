// Reads redoubt-worker's own config file (TOML plus REDOUBT_<SECTION>_<KEY> environment
// overrides) on the shared kit/config_reader. Refuses group- or world-accessible files.
#pragma once

#include <string>

#include "base/config.hpp"
#include "base/errc.hpp"

namespace redoubt::worker {

// Loads and validates the worker's configuration; messages name the offending key or file.
result<worker_settings> load_worker_settings(const std::string& path);

}  // namespace redoubt::worker
