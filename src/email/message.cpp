#include "email/message.hpp"

#include <ctime>

#include "proto/text.hpp"

namespace redoubt::email {

bool header_safe(std::string_view value) noexcept {
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

namespace {
// A header value for a display name: quoted, with quotes and backslashes escaped; non-ASCII
// names go out as an RFC 2047 encoded word.
std::string display_name(std::string_view name) {
  bool ascii = true;
  for (unsigned char c : name)
    if (c >= 0x80) ascii = false;
  if (!ascii) {
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out = "=?UTF-8?B?";
    std::size_t i = 0;
    while (i + 2 < name.size()) {
      unsigned v = (static_cast<unsigned char>(name[i]) << 16) | (static_cast<unsigned char>(name[i + 1]) << 8) |
                   static_cast<unsigned char>(name[i + 2]);
      out += b64[(v >> 18) & 63];
      out += b64[(v >> 12) & 63];
      out += b64[(v >> 6) & 63];
      out += b64[v & 63];
      i += 3;
    }
    if (i < name.size()) {
      unsigned v = static_cast<unsigned char>(name[i]) << 16;
      if (i + 1 < name.size()) v |= static_cast<unsigned char>(name[i + 1]) << 8;
      out += b64[(v >> 18) & 63];
      out += b64[(v >> 12) & 63];
      out += i + 1 < name.size() ? b64[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out + "?=";
  }
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

result<void> validate(const email_message& m, std::string_view from_address) {
  if (!proto::valid_email(m.to) || !header_safe(m.to) || m.to.find_first_of("<>,;\" ") != std::string::npos)
    return make_error(errc::invalid_argument, "recipient address is not valid");
  if (!proto::valid_email(from_address) || !header_safe(from_address))
    return make_error(errc::invalid_argument, "sender address is not valid");
  if (m.subject.empty() || m.subject.size() > 200 || !header_safe(m.subject))
    return make_error(errc::invalid_argument, "subject must be one line of 1-200 bytes");
  if (!header_safe(m.correlation_id) || !header_safe(m.idempotency_key) || m.idempotency_key.empty())
    return make_error(errc::invalid_argument, "idempotency key / correlation id must be one line");
  if (m.text.size() > 256 * 1024) return make_error(errc::payload_too_large, "email body too large");
  return {};
}

std::string rfc5322_date_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string render_rfc5322(const email_message& m, std::string_view from_address, std::string_view from_name,
                           std::string_view message_id, std::string_view date) {
  std::string out;
  out += "From: ";
  if (!from_name.empty() && header_safe(from_name)) {
    out += display_name(from_name);
    out += ' ';
  }
  out += '<';
  out += from_address;
  out += ">\r\nTo: <" + m.to + ">\r\nSubject: " + m.subject + "\r\nDate: ";
  out += date;
  out += "\r\nMessage-ID: <";
  out += message_id;
  out += ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
  out += "X-Redoubt-Correlation-Id: " + m.correlation_id + "\r\n\r\n";
  // Body: normalize every line end to CRLF. (SMTP dot-stuffing is done by libcurl.)
  for (std::size_t i = 0; i < m.text.size(); ++i) {
    char c = m.text[i];
    if (c == '\r') continue;
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  if (out.size() < 2 || out.substr(out.size() - 2) != "\r\n") out += "\r\n";
  return out;
}

}  // namespace redoubt::email
