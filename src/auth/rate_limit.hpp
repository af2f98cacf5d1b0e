// Token buckets keyed by string (IP, user id, username+IP). Thread-safe; the table is pruned
// when it grows so that a flood of distinct keys cannot exhaust memory.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace redoubt::auth {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  rate_limiter(double per_second, double burst, std::size_t max_keys = 100000)
      : rate_(per_second), burst_(burst), max_keys_(max_keys) {}

  // Takes one token; false when the bucket is empty. retry_after is set when false.
  bool allow(const std::string& key, std::chrono::seconds* retry_after = nullptr,
             clock::time_point now = clock::now());

  // Returns tokens taken by allow() (e.g. an attempt that is counted only when it fails),
  // never filling the bucket beyond its burst.
  void give_back(const std::string& key, double amount = 1.0);

  // Pacing instead of refusing: takes `amount` tokens even if that overdraws the bucket and
  // returns how long the caller should wait before going on (zero when it had enough).
  std::chrono::microseconds take(const std::string& key, double amount, clock::time_point now = clock::now());

 private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };
  double rate_;
  double burst_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace redoubt::auth
