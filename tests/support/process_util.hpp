// Small helpers shared by the process harnesses (PostgreSQL, NATS, redoubt-server).
#pragma once

#include <string>
#include <string_view>

namespace redoubt::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
unsigned short free_local_port();

// A fresh directory $TMPDIR/<prefix>XXXXXX (default /tmp, mode 0700); throws on failure.
std::string make_temp_dir(std::string_view prefix);

}  // namespace redoubt::test
