// libFuzzer target: the user-text validators in proto/text.hpp, checked against small
// independent reference implementations and their documented invariants.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/text.hpp"

namespace {
namespace proto = redoubt::proto;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Reference UTF-8 decoder following the well-formed byte sequence table (Unicode 15, table 3-7).
std::optional<std::vector<std::uint32_t>> ref_decode(std::string_view s) {
  std::vector<std::uint32_t> out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0, n = s.size();
  auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  while (i < n) {
    unsigned char b0 = p[i];
    if (b0 <= 0x7F) {
      out.push_back(b0);
      i += 1;
      continue;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (in(b0, 0xC2, 0xDF)) len = 2;
    else if (b0 == 0xE0) len = 3, lo = 0xA0;
    else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) len = 3;
    else if (b0 == 0xED) len = 3, hi = 0x9F;
    else if (b0 == 0xF0) len = 4, lo = 0x90;
    else if (in(b0, 0xF1, 0xF3)) len = 4;
    else if (b0 == 0xF4) len = 4, hi = 0x8F;
    else return std::nullopt;
    if (n - i < len) return std::nullopt;
    if (!in(p[i + 1], lo, hi)) return std::nullopt;
    for (std::size_t k = 2; k < len; ++k)
      if (!in(p[i + k], 0x80, 0xBF)) return std::nullopt;
    std::uint32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool ref_username(std::string_view s) {
  if (s.size() < 2 || s.size() > 32) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

bool ref_client_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);

  // utf8_length agrees with the reference decoder, valid or not.
  auto len = proto::utf8_length(s);
  auto cps = ref_decode(s);
  check(len.has_value() == cps.has_value());
  if (len) check(*len == cps->size() && *len <= s.size());

  // has_control_chars: on valid UTF-8 it matches a code-point check (C0 but \n \t, DEL, C1).
  for (bool allow_newlines : {false, true}) {
    bool got = proto::has_control_chars(s, allow_newlines);
    if (cps) {
      bool want = std::any_of(cps->begin(), cps->end(), [&](std::uint32_t cp) {
        if (allow_newlines && (cp == '\n' || cp == '\t')) return false;
        return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
      });
      check(got == want);
    }
  }
  // Disallowing newlines can only add findings.
  check(!proto::has_control_chars(s, true) || proto::has_control_chars(s, false));

  check(proto::valid_username(s) == ref_username(s));
  check(proto::valid_client_id(s) == ref_client_id(s));

  if (proto::valid_email(s)) {
    check(s.size() >= 3 && s.size() <= 254);
    check(std::count(s.begin(), s.end(), '@') == 1);
    auto at = s.find('@');
    check(at > 0);
    auto domain = s.substr(at + 1);
    check(domain.find('.') != std::string_view::npos && domain.front() != '.' &&
          domain.back() != '.');
    for (unsigned char c : s) check(c > 0x20 && c != 0x7F);
  }

  // ascii_lower: same length, no ASCII upper case, idempotent, only A-Z changed.
  auto lower = proto::ascii_lower(s);
  check(lower.size() == s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    check(!(lower[i] >= 'A' && lower[i] <= 'Z'));
    if (!(s[i] >= 'A' && s[i] <= 'Z')) check(lower[i] == s[i]);
  }
  check(proto::ascii_lower(lower) == lower);

  // trim: a substring of s, no surrounding whitespace, idempotent; nothing else removed.
  auto t = proto::trim(s);
  check(s.find(t) != std::string_view::npos);
  check(t.empty() || (!is_space(t.front()) && !is_space(t.back())));
  check(proto::trim(t) == t);
  if (!s.empty() && !is_space(s.front()) && !is_space(s.back())) check(t == s);

  // parse_mentions: valid usernames, unique, at most 50, each "@name" in the lowered body.
  auto mentions = proto::parse_mentions(s);
  check(mentions.size() <= 50);
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const auto& m = mentions[i];
    check(proto::valid_username(m));
    for (std::size_t j = 0; j < i; ++j) check(mentions[j] != m);
    check(lower.find("@" + m) != std::string::npos);
  }
  return 0;
}
