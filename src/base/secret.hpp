// A string that must never reach a log, an URL or a process argument.
// Formatting it prints "[redacted]"; reading it takes an explicit reveal().
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace redoubt {

class secret_string {
 public:
  secret_string() = default;
  explicit secret_string(std::string value) : value_(std::move(value)) {}
  ~secret_string();
  secret_string(const secret_string&) = default;
  secret_string& operator=(const secret_string&) = default;
  secret_string(secret_string&&) noexcept = default;
  secret_string& operator=(secret_string&&) noexcept = default;

  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& os, const secret_string&) {
    return os << "[redacted]";
  }

 private:
  std::string value_;
};

}  // namespace redoubt
