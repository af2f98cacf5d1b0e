// Idle memory per WebSocket connection: opens N authenticated, subscribed TLS WebSockets to a
// fresh redoubt-server and reports the server's RSS growth per connection at several steps.
//
// usage: ws_idle_memory [max_connections=2000] [step=500]
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "support/server_process.hpp"

using namespace redoubt::test;
namespace json = boost::json;

namespace {

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int max_connections = argc > 1 ? std::atoi(argv[1]) : 2000;
  int step = argc > 2 ? std::atoi(argv[2]) : 500;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  ensure_migrated();
  server_options opts;
  opts.extra_toml =
      "[limits]\nrequests_per_second_per_ip = 1000000\nrequests_burst_per_ip = 1000000\n"
      "max_connections_per_ip = 1000000\nmax_ws_per_user = 1000000\n";
  server_process server(opts);
  server.start();
  auto http = server.client();
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", "idle"}, {"email", "idle@bench.test"}, {"password", "bench password 123456"}});
  if (res.status != 201) {
    std::fprintf(stderr, "register failed: %s\n", res.body.c_str());
    return 1;
  }
  http.post("/api/v1/rooms", json::object{{"name", "idle-room"}});
  auto cookie = http.cookie_header();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long base = rss_kib(server.pid());
  std::printf("server RSS with no WebSocket: %ld KiB\n", base);
  std::printf("%12s %14s %18s\n", "connections", "server RSS KiB", "KiB per connection");
  std::vector<ws_client> clients;
  clients.reserve(static_cast<std::size_t>(max_connections));
  while (static_cast<int>(clients.size()) < max_connections) {
    auto ws = server.ws(cookie);
    ws.read();  // hello
    ws.send(json::object{{"type", "subscribe"}});
    ws.read_until([](const json::object& f) { return f.at("type").as_string() == "subscribed"; });
    clients.push_back(std::move(ws));
    if (static_cast<int>(clients.size()) % step == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      long rss = rss_kib(server.pid());
      std::printf("%12zu %14ld %18.1f\n", clients.size(), rss,
                  static_cast<double>(rss - base) / static_cast<double>(clients.size()));
      std::fflush(stdout);
    }
  }
  return 0;
}
