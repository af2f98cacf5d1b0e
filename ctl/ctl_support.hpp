// What redoubtctl's commands share: reporting a failure, one database connection with the
// config's role, and running a coroutine to its end (kit::run_blocking).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "base/config.hpp"
#include "base/errc.hpp"
#include "db/pg.hpp"
#include "kit/process.hpp"

namespace redoubt::ctl {

using kit::run_blocking;

// Prints "redoubtctl: <message>" on stderr and returns exit_code.
int report(const std::string& message, int exit_code = 1);
inline int report(const error& e, int exit_code = 1) {
  return report(e.message, exit_code);
}

// One connection with the config's role; prints why and returns null when it fails.
std::unique_ptr<db::connection> connect_or_report(boost::asio::io_context& io, const settings& cfg);

}  // namespace redoubt::ctl
