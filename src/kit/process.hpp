// Start-up pieces every Redoubt program shares: the command line of redoubt-server and
// redoubt-worker, logging set-up, the one way to refuse to start, running a coroutine to its
// end from main(), and the schema-version check against the database.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"

namespace redoubt::kit {

struct program_info {
  std::string_view name;            // "redoubt-server"
  std::string_view description;     // one line for --help
  std::string_view default_config;  // "/etc/redoubt/server.toml"
  int schema_version;               // the schema this build needs
};

// "redoubt-server 0.1.0 (schema 12)"
std::string version_line(const program_info& p);

// Parses `--config FILE` and `--version` (CLI11). Returns the exit code when the program is
// done (--version, --help: 0; a usage error: 2, with usage on stderr); nothing when it runs.
std::optional<int> parse_command_line(int argc, char** argv, const program_info& p,
                                      std::string& config_path);

// "debug", "warn", "error"; anything else is info.
log::level parse_level(std::string_view text);

// JSON-lines logging for the program at info until the config names its level.
void start_logging(const program_info& p);
void set_log_level(std::string_view text);

// Refuses to start: logs startup_failed, prints "<program>: <what>" and returns exit code 2.
int fail(std::string_view program, const std::string& what);

// Runs `task` on `io` until it completes and returns its value. The calling thread helps run
// `io`, so this works whether or not other threads run it too.
template <class T>
T run_blocking(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  auto done = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.stopped()) io.restart();  // ran out of work between two calls
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return done.get();
}

// The database must be at exactly the schema this build was made for.
result<void> check_schema_version(const result<int>& found, int expected);

}  // namespace redoubt::kit
