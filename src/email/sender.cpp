#include "email/sender.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "base/enum_names.hpp"
#include "base/log.hpp"

namespace redoubt::email {

std::string_view breaker_state_name(breaker_state s) noexcept {
  static constexpr std::array<std::string_view, 3> names{"closed", "open", "half_open"};
  static_assert(names.size() == static_cast<std::size_t>(breaker_state::half_open) + 1);
  return enum_name(s, names, "closed");
}

sender::sender(std::unique_ptr<provider> p, const email_settings& s)
    : provider_(std::move(p)),
      s_(s),
      per_recipient_(s.per_recipient_per_hour / 3600.0, s.per_recipient_per_hour),
      global_(s.global_per_second, s.global_per_second) {}

void sender::set_state(breaker_state next) {
  auto prev = static_cast<breaker_state>(stats_.breaker.exchange(static_cast<int>(next)));
  if (prev == next) return;
  if (next == breaker_state::open) stats_.breaker_open_total.fetch_add(1);
  log::warn("email_breaker_state", {{"from", breaker_state_name(prev)},
                                    {"to", breaker_state_name(next)},
                                    {"provider", provider_->name()}});
}

bool sender::admit() {
  std::lock_guard lock(mutex_);
  auto st = static_cast<breaker_state>(stats_.breaker.load());
  if (st == breaker_state::closed) return true;
  if (st == breaker_state::open) {
    if (std::chrono::steady_clock::now() - opened_at_ < s_.breaker_cooldown) return false;
    set_state(breaker_state::half_open);
  }
  // Half open: one trial at a time.
  if (trial_in_flight_) return false;
  trial_in_flight_ = true;
  return true;
}

void sender::record(bool ok) {
  std::lock_guard lock(mutex_);
  trial_in_flight_ = false;
  if (ok) {
    consecutive_failures_ = 0;
    set_state(breaker_state::closed);
    return;
  }
  ++consecutive_failures_;
  auto st = static_cast<breaker_state>(stats_.breaker.load());
  if (st == breaker_state::half_open || consecutive_failures_ >= s_.breaker_failures) {
    opened_at_ = std::chrono::steady_clock::now();
    set_state(breaker_state::open);
  }
}

send_outcome sender::send(const email_message& m) {
  send_outcome out;
  if (!per_recipient_.allow(m.to) || !global_.allow("*")) {
    stats_.rate_limited_total.fetch_add(1);
    out.retryable = true;
    out.error = "rate limited";
    return out;
  }
  thread_local std::mt19937 rng{std::random_device{}()};
  auto backoff = s_.backoff_initial;
  for (int attempt = 1; attempt <= s_.attempts; ++attempt) {
    if (!admit()) {
      out = send_outcome{};
      out.retryable = true;
      out.error = "circuit open";
      break;
    }
    stats_.attempts_total.fetch_add(1);
    out = provider_->send(m);
    // Only transient failures say anything about the provider's health.
    record(out.ok || !out.retryable);
    if (out.ok || !out.retryable) break;
    if (attempt < s_.attempts) {
      // Full jitter: sleep a random time up to the current backoff.
      std::uniform_int_distribution<long> d(backoff.count() / 2, backoff.count());
      std::this_thread::sleep_for(std::chrono::milliseconds(d(rng)));
      backoff = std::min(backoff * 2, s_.backoff_max);
    }
  }
  (out.ok ? stats_.sent_total : stats_.failed_total).fetch_add(1);
  return out;
}

}  // namespace redoubt::email
