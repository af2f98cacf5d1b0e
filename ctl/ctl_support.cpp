#include "ctl_support.hpp"

#include <iostream>

namespace redoubt::ctl {

int report(const std::string& message, int exit_code) {
  std::cerr << "redoubtctl: " << message << "\n";
  return exit_code;
}

std::unique_ptr<db::connection> connect_or_report(boost::asio::io_context& io,
                                                  const settings& cfg) {
  auto conn = run_blocking(io, db::connection::connect(io.get_executor(), cfg.database));
  if (!conn) {
    report("cannot connect: " + conn.error().message);
    return nullptr;
  }
  return std::move(*conn);
}

}  // namespace redoubt::ctl
