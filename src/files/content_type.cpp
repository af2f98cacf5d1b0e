#include "files/content_type.hpp"

#include <array>
#include <charconv>

#include "proto/text.hpp"

namespace redoubt::files {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

struct magic {
  std::size_t offset;
  std::string_view bytes;
  std::string_view type;
};

using namespace std::string_view_literals;
constexpr std::array magics{
    magic{0, "\x89PNG\r\n\x1a\n"sv, "image/png"sv},
    magic{0, "\xff\xd8\xff"sv, "image/jpeg"sv},
    magic{0, "GIF87a"sv, "image/gif"sv},
    magic{0, "GIF89a"sv, "image/gif"sv},
    magic{0, "%PDF-"sv, "application/pdf"sv},
    magic{0, "PK\x03\x04"sv, "application/zip"sv},
    magic{0, "\x1f\x8b"sv, "application/gzip"sv},
    magic{0, "7z\xbc\xaf\x27\x1c"sv, "application/x-7z-compressed"sv},
    magic{0, "\x7f" "ELF"sv, "application/x-executable"sv},
    magic{0, "MZ"sv, "application/x-msdownload"sv},
    magic{0, "OggS"sv, "audio/ogg"sv},
    magic{0, "ID3"sv, "audio/mpeg"sv},
    magic{0, "fLaC"sv, "audio/flac"sv},
    magic{0, "\x1a\x45\xdf\xa3"sv, "video/webm"sv},
    magic{4, "ftyp"sv, "video/mp4"sv},
};

// UTF-8 text without NUL or other binary control characters.
bool looks_like_text(std::string_view head) {
  // The sniffed prefix may end inside a multi-byte character: drop an incomplete tail.
  std::size_t cut = head.size();
  for (std::size_t back = 1; back <= 3 && back <= head.size(); ++back) {
    auto c = static_cast<unsigned char>(head[head.size() - back]);
    if ((c & 0xC0) == 0xC0) {  // a lead byte: is its sequence complete?
      std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
      if (back < need) cut = head.size() - back;
      break;
    }
    if ((c & 0x80) == 0) break;
  }
  head = head.substr(0, cut);
  if (!proto::utf8_length(head)) return false;
  for (unsigned char c : head)
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') return false;
  return true;
}

bool is_format_or_control(char32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||  // C0, DEL, C1
         (cp >= 0x200b && cp <= 0x200f) ||                          // zero-width, LRM/RLM
         (cp >= 0x202a && cp <= 0x202e) ||                          // bidi embeddings/overrides
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;            // bidi isolates, BOM
}

// Decodes one UTF-8 sequence at s[i] (the input was validated); returns its length.
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) { cp = c; return 1; }
  std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return n;
}

}  // namespace

std::string detect_content_type(std::string_view head) {
  head = head.substr(0, sniff_bytes);
  for (const auto& m : magics)
    if (head.size() >= m.offset + m.bytes.size() && head.substr(m.offset, m.bytes.size()) == m.bytes)
      return std::string(m.type);
  if (starts_with(head, "RIFF") && head.size() >= 12 && head.substr(8, 4) == "WEBP") return "image/webp";
  if (!head.empty() && looks_like_text(head)) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool is_inline_image(std::string_view t) noexcept {
  return t == "image/png" || t == "image/jpeg" || t == "image/gif" || t == "image/webp";
}

result<std::string> sanitize_filename(std::string_view raw) {
  if (!proto::utf8_length(raw)) return make_error(errc::invalid_argument, "filename must be UTF-8");
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    auto n = decode(raw, i, cp);
    if (cp == '/' || cp == '\\' || cp == ':' || cp == '"' || is_format_or_control(cp))
      out.push_back('_');
    else
      out.append(raw.substr(i, n));
    i += n;
    ++chars;
    if (chars > 4 * max_filename_chars) return make_error(errc::invalid_argument, "filename too long");
  }
  // No hidden files, no "." or "..", no surrounding blanks.
  auto first = out.find_first_not_of(". ");
  if (first == std::string::npos) return make_error(errc::invalid_argument, "filename is empty");
  out.erase(0, first);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  auto len = proto::utf8_length(out);
  if (!len || *len == 0) return make_error(errc::invalid_argument, "filename is empty");
  if (*len > max_filename_chars) return make_error(errc::invalid_argument, "filename longer than 255 characters");
  return out;
}

std::string content_disposition(bool as_inline, std::string_view filename) {
  std::string ascii, encoded;
  for (unsigned char c : filename) {
    ascii.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%' ? static_cast<char>(c) : '_');
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      encoded.push_back(static_cast<char>(c));
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      encoded.push_back('%');
      encoded.push_back(hex[c >> 4]);
      encoded.push_back(hex[c & 15]);
    }
  }
  return std::string(as_inline ? "inline" : "attachment") + "; filename=\"" + ascii + "\"; filename*=UTF-8''" +
         encoded;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_byte_range(std::string_view h, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (h.substr(0, unit.size()) != unit) return std::nullopt;
  h.remove_prefix(unit.size());
  if (h.find(',') != std::string_view::npos) return std::nullopt;  // several ranges: send it all
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, std::uint64_t& v) {
    if (s.empty() || s.size() > 19) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  auto a = h.substr(0, dash), b = h.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  const std::pair<std::uint64_t, std::uint64_t> unsatisfiable{size, size};
  if (a.empty()) {  // suffix: the last N bytes
    if (!num(b, last)) return std::nullopt;
    if (last == 0 || size == 0) return unsatisfiable;
    return std::pair{size - std::min(last, size), size};
  }
  if (!num(a, first)) return std::nullopt;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    if (!num(b, last) || last < first) return std::nullopt;
    last = std::min(last, size == 0 ? 0 : size - 1);
  }
  if (first >= size) return unsatisfiable;
  return std::pair{first, last + 1};
}

}  // namespace redoubt::files
