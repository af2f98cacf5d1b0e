// Process metrics in Prometheus text format. Counters are relaxed atomics: cheap on hot paths.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace redoubt::api {

struct metrics {
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::int64_t> ws_open{0};
  std::atomic<std::uint64_t> ws_frames_in{0};
  std::atomic<std::uint64_t> ws_frames_out{0};
  std::atomic<std::uint64_t> ws_slow_consumer_closes{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::array<std::atomic<std::uint64_t>, 6> requests_by_class{};  // index = status / 100
  std::atomic<std::uint64_t> request_latency_us_sum{0};
  std::atomic<std::uint64_t> request_count{0};
  std::atomic<std::uint64_t> messages_acked{0};
  std::atomic<std::uint64_t> ack_latency_us_sum{0};
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> blocked_connections{0};
  std::atomic<std::uint64_t> uploads_stored{0};
  std::atomic<std::uint64_t> uploads_refused{0};  // refused or broken before a row existed
  std::atomic<std::uint64_t> upload_bytes{0};
  std::atomic<std::uint64_t> downloads{0};
  std::atomic<std::uint64_t> download_bytes{0};
  std::atomic<std::uint64_t> integrity_failures{0};
  // HTTP requests being handled and WebSocket frames being handled or written: what a
  // graceful stop waits for.
  std::atomic<std::int64_t> work_in_flight{0};

  void count_request(int status, std::uint64_t micros) {
    auto cls = static_cast<std::size_t>(status / 100);
    if (cls < requests_by_class.size()) requests_by_class[cls].fetch_add(1, std::memory_order_relaxed);
    request_latency_us_sum.fetch_add(micros, std::memory_order_relaxed);
    request_count.fetch_add(1, std::memory_order_relaxed);
  }
};

// Appends one metric in exposition format: HELP and TYPE lines first unless `labels` is set
// (a further sample of the family). kit/metrics.hpp has the writer behind it.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value, const char* labels = "");

}  // namespace redoubt::api
