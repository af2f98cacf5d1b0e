#include "auth/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace redoubt::auth {

bool rate_limiter::allow(const std::string& key, std::chrono::seconds* retry_after,
                         clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= max_keys_ && !buckets_.contains(key)) {
    // Drop buckets that have refilled completely: they carry no information.
    std::erase_if(buckets_, [&](const auto& kv) {
      double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
      return kv.second.tokens + elapsed * rate_ >= burst_;
    });
    if (buckets_.size() >= max_keys_) {
      if (retry_after) *retry_after = std::chrono::seconds(1);
      return false;
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, bucket{burst_, now});
  auto& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after)
    *retry_after = std::chrono::seconds(static_cast<long>(std::ceil((1.0 - b.tokens) / rate_)));
  return false;
}

void rate_limiter::give_back(const std::string& key, double amount) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return;
  it->second.tokens = std::min(burst_, it->second.tokens + amount);
}

std::chrono::microseconds rate_limiter::take(const std::string& key, double amount, clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= max_keys_ && !buckets_.contains(key)) {
    std::erase_if(buckets_, [&](const auto& kv) {
      double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
      return kv.second.tokens + elapsed * rate_ >= burst_;
    });
  }
  auto [it, inserted] = buckets_.try_emplace(key, bucket{burst_, now});
  auto& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.updated = now;
  b.tokens -= amount;
  if (b.tokens >= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(static_cast<long>(std::ceil(-b.tokens / rate_ * 1e6)));
}

}  // namespace redoubt::auth
