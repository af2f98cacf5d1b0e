// Resilient sending on top of one provider: per-recipient and global rate limits, a circuit
// breaker (state logged on change and exported as a metric), and a few attempts with
// exponential backoff and jitter. Thread-safe; send() blocks (worker pool threads only).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

#include "auth/rate_limit.hpp"
#include "base/config.hpp"
#include "email/provider.hpp"

namespace redoubt::email {

enum class breaker_state { closed = 0, open = 1, half_open = 2 };
std::string_view breaker_state_name(breaker_state s) noexcept;

struct sender_stats {
  std::atomic<std::uint64_t> sent_total{0};
  std::atomic<std::uint64_t> failed_total{0};
  std::atomic<std::uint64_t> attempts_total{0};
  std::atomic<std::uint64_t> rate_limited_total{0};
  std::atomic<std::uint64_t> breaker_open_total{0};  // times it opened
  std::atomic<int> breaker{0};                       // breaker_state
};

class sender {
 public:
  sender(std::unique_ptr<provider> p, const email_settings& s);

  send_outcome send(const email_message& m);
  std::string_view provider_name() const { return provider_->name(); }
  const sender_stats& stats() const { return stats_; }
  breaker_state state() const { return static_cast<breaker_state>(stats_.breaker.load()); }

 private:
  bool admit();  // false while the breaker is open
  void record(bool ok);
  void set_state(breaker_state s);

  std::unique_ptr<provider> provider_;
  const email_settings& s_;
  auth::rate_limiter per_recipient_;
  auth::rate_limiter global_;
  std::mutex mutex_;
  int consecutive_failures_ = 0;
  bool trial_in_flight_ = false;
  std::chrono::steady_clock::time_point opened_at_{};
  sender_stats stats_;
};

}  // namespace redoubt::email
