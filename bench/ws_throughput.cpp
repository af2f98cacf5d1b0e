// Messages/s through the whole server: N senders on TLS WebSockets in one room, each keeping
// W sends in flight; every send is acknowledged only after its group commit. R readers in the
// room count the fan-out. Starts its own PostgreSQL cluster and redoubt-server (release build).
//
// usage: ws_throughput [senders=8] [window=32] [seconds=10] [readers=4]
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "support/server_process.hpp"

using namespace redoubt::test;
namespace json = boost::json;

namespace {

double process_cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

struct user {
  std::string name;
  https_client http;
};

user make_user(server_process& server, const std::string& name) {
  auto http = server.client();
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", name + "@bench.test"}, {"password", "bench password 123456"}});
  if (res.status != 201) throw std::runtime_error("register failed: " + res.body);
  return {name, std::move(http)};
}

ws_client subscribe(server_process& server, user& u) {
  auto ws = server.ws(u.http.cookie_header());
  ws.read();
  ws.send(json::object{{"type", "subscribe"}});
  ws.read_until([](const json::object& f) { return f.at("type").as_string() == "subscribed"; });
  return ws;
}

}  // namespace

int main(int argc, char** argv) {
  int senders = argc > 1 ? std::atoi(argv[1]) : 8;
  int window = argc > 2 ? std::atoi(argv[2]) : 32;
  int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  int readers = argc > 4 ? std::atoi(argv[4]) : 4;

  ensure_migrated();
  server_options opts;
  opts.extra_toml =
      "[limits]\nrequests_per_second_per_ip = 1000000\nrequests_burst_per_ip = 1000000\n"
      "max_connections_per_ip = 1000000\nmax_ws_per_user = 1000000\n"
      "messages_per_second = 1000000\nmessages_burst = 1000000\n";
  server_process server(opts);
  server.start();

  auto owner = make_user(server, "benchowner");
  auto room_res = owner.http.post("/api/v1/rooms", json::object{{"name", "bench"}, {"kind", "private"}});
  auto room = room_res.json().at("room").at("id").as_int64();
  std::vector<user> users;
  for (int i = 0; i < senders + readers; ++i) {
    users.push_back(make_user(server, "bench" + std::to_string(i)));
    owner.http.post("/api/v1/rooms/" + std::to_string(room) + "/invite", json::object{{"username", users.back().name}});
  }

  std::atomic<bool> stop{false};
  std::atomic<long> acked{0}, delivered{0}, dropped{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto ws = subscribe(server, users[senders + r]);
        while (!stop) {
          auto f = ws.try_read(std::chrono::milliseconds(200));
          if (f && f->at("type").as_string() == "event") delivered.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const std::exception& e) {
        dropped.fetch_add(1);
        std::fprintf(stderr, "reader %d: %s\n", r, e.what());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto server_cpu0 = process_cpu_seconds(server.pid());
  auto client_cpu0 = self_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
     try {
      auto ws = subscribe(server, users[s]);
      long sent = 0, got = 0;
      auto send_one = [&] {
        ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "b" + std::to_string(s) + "-" + std::to_string(sent++)},
                             {"body", "benchmark message with a typical length of about sixty chars"}});
      };
      for (int i = 0; i < window; ++i) send_one();
      while (!stop) {
        auto f = ws.try_read(std::chrono::seconds(5));
        if (!f) break;
        auto type = f->at("type").as_string();
        if (type == "ack") {
          ++got;
          acked.fetch_add(1, std::memory_order_relaxed);
          send_one();
        } else if (type == "error") {
          std::fprintf(stderr, "error: %s\n", json::serialize(*f).c_str());
          break;
        }
      }
      (void)got;
     } catch (const std::exception& e) {
      dropped.fetch_add(1);
      std::fprintf(stderr, "sender %d: %s\n", s, e.what());
     }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto acks = acked.load();
  auto deliveries = delivered.load();
  auto server_cpu = process_cpu_seconds(server.pid()) - server_cpu0;
  auto client_cpu = self_cpu_seconds() - client_cpu0;
  for (auto& t : threads) t.join();
  auto metrics = get_metrics(owner.http, server.metrics_token()).body;
  auto metric = [&](const std::string& name) {
    auto p = metrics.find("\n" + name + " ");
    return p == std::string::npos ? 0.0 : std::stod(metrics.substr(p + name.size() + 2));
  };
  double batches = metric("redoubt_commit_batches_total");
  double batch_msgs = metric("redoubt_commit_batch_messages_total");
  std::printf("senders=%d window=%d readers=%d seconds=%.1f\n", senders, window, readers, elapsed);
  std::printf("acked messages/s:      %.0f\n", acks / elapsed);
  std::printf("fan-out deliveries/s:  %.0f (to %d readers)\n", deliveries / elapsed, readers);
  std::printf("mean group-commit size: %.1f messages\n", batches > 0 ? batch_msgs / batches : 0.0);
  std::printf("clients disconnected (too slow to read): %ld\n", dropped.load());
  std::printf("server CPU: %.0f%%   load generator CPU: %.0f%% (of one core)\n", 100 * server_cpu / elapsed,
              100 * client_cpu / elapsed);
  return 0;
}
