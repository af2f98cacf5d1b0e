#include "proto/text.hpp"

#include <algorithm>

namespace redoubt::proto {

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  while (i < n) {
    unsigned char c = p[i];
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + len > n) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return std::nullopt;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += len;
    ++count;
  }
  return count;
}

std::string utf8_or_replacement(std::string_view s) {
  if (utf8_length(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 1;
    while (len <= 4 && !(i + len <= s.size() && utf8_length(s.substr(i, len)) == 1u)) ++len;
    if (len > 4) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string header_text(std::string_view s, std::size_t max_bytes) {
  const std::string valid = utf8_or_replacement(s);
  std::string out;
  out.reserve(std::min(valid.size(), max_bytes));
  std::size_t i = 0;
  while (i < valid.size()) {
    const auto c = static_cast<unsigned char>(valid[i]);
    const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    // C0 controls (but tab) and DEL; C1 controls are U+0080..U+009F, encoded C2 80..C2 9F.
    const bool control = (c < 0x20 && c != '\t') || c == 0x7F ||
                         (len == 2 && c == 0xC2 && static_cast<unsigned char>(valid[i + 1]) < 0xA0);
    if (!control) {
      if (out.size() + len > max_bytes) break;
      out.append(valid, i, len);
    }
    i += len;
  }
  return out;
}

bool has_bidi_controls(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (p[i] == 0xD8 && p[i + 1] == 0x9C) return true;  // U+061C arabic letter mark
    if (p[i] != 0xE2 || i + 2 >= s.size()) continue;
    const unsigned b1 = p[i + 1], b2 = p[i + 2];
    if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) return true;
    if (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return true;
  }
  return false;
}

bool has_control_chars(std::string_view s, bool allow_newlines) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20) {
      if (allow_newlines && (c == '\n' || c == '\t')) continue;
      return true;
    }
    if (c == 0x7F) return true;
    // C1 controls are U+0080..U+009F: encoded as C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < s.size()) {
      auto d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0x9F) return true;
    }
  }
  return false;
}

bool valid_username(std::string_view s) noexcept {
  if (s.size() < 2 || s.size() > 32) return false;
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '_' || c == '.' || c == '-');
  };
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!ok(s[i], i == 0)) return false;
  return true;
}

bool valid_email(std::string_view s) noexcept {
  if (s.size() < 3 || s.size() > 254) return false;
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos)
    return false;
  auto domain = s.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.')
    return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
        c == '\\')
      return false;
  return true;
}

bool valid_client_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> parse_mentions(std::string_view body) {
  std::vector<std::string> out;
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '@') continue;
    if (i > 0 && name_char(body[i - 1])) continue;  // an e-mail address, not a mention
    std::size_t j = i + 1;
    while (j < body.size() && name_char(body[j])) ++j;
    auto name = ascii_lower(body.substr(i + 1, j - i - 1));
    while (!name.empty() && (name.back() == '.' || name.back() == '-')) name.pop_back();
    if (valid_username(name) && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
      if (out.size() >= 50) break;
    }
    i = j > i ? j - 1 : i;
  }
  return out;
}

}  // namespace redoubt::proto
