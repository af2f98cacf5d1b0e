#include "auth/password_policy.hpp"

#include <fstream>
#include <optional>
#include <utility>

namespace redoubt::auth {
namespace {

// Strict UTF-8 decoding (no overlongs, surrogates or values above U+10FFFF).
// Returns the number of code points, or nothing if the input is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    char32_t cp;
    char32_t min;
    if (c < 0x80) {
      n = 1, cp = c, min = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < n) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += n;
    ++count;
  }
  return count;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

password_policy::password_policy(std::size_t min_length, std::size_t max_length,
                                 std::unordered_set<std::string> common)
    : min_length_(min_length), max_length_(max_length) {
  common_.reserve(common.size());
  for (const auto& p : common) common_.insert(ascii_lower(p));
}

result<password_policy> password_policy::load(std::size_t min_len, std::size_t max_len,
                                              const std::string& common_passwords_file) {
  if (min_len > max_len) {
    return make_error(errc::invalid_argument,
                      "minimum password length exceeds maximum password length");
  }
  std::ifstream in(common_passwords_file);
  if (!in) {
    return make_error(errc::failed_precondition,
                      "cannot read common passwords file: " + common_passwords_file);
  }
  std::unordered_set<std::string> common;
  std::string line;
  while (std::getline(in, line)) {
    const auto entry = trim(line);
    if (entry.empty() || entry.front() == '#') continue;
    common.insert(ascii_lower(entry));
  }
  if (in.bad()) {
    return make_error(errc::failed_precondition,
                      "error reading common passwords file: " + common_passwords_file);
  }
  // An empty list would silently disable the check: treat it as a broken deployment.
  if (common.empty()) {
    return make_error(errc::failed_precondition,
                      "common passwords file has no entries: " + common_passwords_file);
  }
  return password_policy(min_len, max_len, std::move(common));
}

result<void> password_policy::check(std::string_view password, std::string_view username) const {
  const auto length = utf8_length(password);
  if (!length) return make_error(errc::invalid_argument, "password is not valid UTF-8");
  if (*length < min_length_) {
    return make_error(errc::invalid_argument,
                      "password must be at least " + std::to_string(min_length_) + " characters");
  }
  if (*length > max_length_) {
    return make_error(errc::invalid_argument,
                      "password must be at most " + std::to_string(max_length_) + " characters");
  }
  const std::string lowered = ascii_lower(password);
  if (common_.contains(lowered)) {
    return make_error(errc::invalid_argument,
                      "password is too common; choose a less predictable one");
  }
  // Short usernames would match too many passwords by accident.
  const std::size_t user_len = utf8_length(username).value_or(username.size());
  if (user_len >= 3 && lowered.find(ascii_lower(username)) != std::string::npos) {
    return make_error(errc::invalid_argument, "password must not contain the username");
  }
  return {};
}

}  // namespace redoubt::auth
