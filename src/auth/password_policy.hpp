// Password acceptance rules per OWASP ASVS 2.1: length limits counted in Unicode code
// points, a common-password blocklist and no username in the password. Deliberately no
// composition rules (digits, symbols, case); spaces and any Unicode are allowed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "base/errc.hpp"

namespace redoubt::auth {

class password_policy {
 public:
  // `common` entries are compared ASCII-case-insensitively; they are lowercased here.
  password_policy(std::size_t min_length, std::size_t max_length,
                  std::unordered_set<std::string> common);

  // File format: one password per line, blank lines and lines starting with '#' ignored.
  // Missing, unreadable or empty file -> errc::failed_precondition (a deployment error);
  // min_len > max_len -> errc::invalid_argument.
  static result<password_policy> load(std::size_t min_len, std::size_t max_len,
                                      const std::string& common_passwords_file);

  // errc::invalid_argument with a user-facing message when the password is rejected.
  result<void> check(std::string_view password, std::string_view username) const;

  std::size_t min_length() const noexcept { return min_length_; }
  std::size_t max_length() const noexcept { return max_length_; }
  std::size_t common_count() const noexcept { return common_.size(); }

 private:
  std::size_t min_length_;
  std::size_t max_length_;
  std::unordered_set<std::string> common_;
};

}  // namespace redoubt::auth
