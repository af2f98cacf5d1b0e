// Small helpers shared by the process harnesses (PostgreSQL, NATS, clamd, server, worker,
// email sinks).
#pragma once

#include <string>
#include <string_view>

namespace redoubt::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
unsigned short free_local_port();

// A fresh directory $TMPDIR/<prefix>XXXXXX (default /tmp, mode 0700); throws on failure.
std::string make_temp_dir(std::string_view prefix);

// A dev CA and a "localhost" server certificate in `dir` (scripts/dev-tls.sh): ca.crt,
// server.crt, server.key. Throws with the script's output on failure.
void generate_dev_tls(const std::string& dir);

}  // namespace redoubt::test
