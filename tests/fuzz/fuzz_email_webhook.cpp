// libFuzzer target: the email provider's webhook (api/email_webhook): the signature and
// timestamp check and the event parser. The input is "<timestamp>\n<signature>\n<body>" (missing
// parts are empty). Each input is checked three ways:
//  - as received: whatever verifies must carry the real HMAC of timestamp.body, a timestamp
//    inside the window and a body within the size limit;
//  - correctly signed now: it verifies exactly when the body is within the size limit;
//  - its body parsed as an event: what parses satisfies the schema and reads back the same.
// Invariants: never crashes; never accepts what the checks above refuse.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/email_webhook.hpp"
#include "proto/text.hpp"

namespace {
namespace api = redoubt::api;
namespace json = boost::json;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::string_view secret = "fuzz-webhook-secret-0123456789abcdef";
constexpr std::int64_t now = 1'800'000'000;
constexpr std::int64_t tolerance = 300;

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

void check_as_received(std::string_view ts, std::string_view sig, std::string_view body) {
  auto verified = api::verify_webhook_signature(secret, ts, sig, body, now, tolerance);
  if (!verified) return;
  check(sig == api::sign_webhook(secret, ts, body));
  check(body.size() <= api::max_webhook_body_bytes);
  std::int64_t t = 0;
  auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
  check(ec == std::errc() && end == ts.data() + ts.size());
  check(t >= now - tolerance && t <= now + tolerance);
}

void check_signed(std::string_view ts, std::string_view body) {
  const std::string fresh = std::to_string(now);
  auto ok = api::verify_webhook_signature(secret, fresh, api::sign_webhook(secret, fresh, body), body, now, tolerance);
  check(ok.has_value() == (body.size() <= api::max_webhook_body_bytes));
  // A correct signature over a fuzzed timestamp: accepted only inside the window.
  auto at = api::verify_webhook_signature(secret, ts, api::sign_webhook(secret, ts, body), body, now, tolerance);
  if (at) check_as_received(ts, api::sign_webhook(secret, ts, body), body);
  // A signature made with another secret never verifies.
  check(!api::verify_webhook_signature("another secret", fresh, api::sign_webhook(secret, fresh, body), body, now,
                                       tolerance));
}

void check_parsed(std::string_view body) {
  auto event = api::parse_email_event(body);
  if (!event) return;
  check(!event->id.empty() && event->id.size() <= 128);
  check(event->type == "delivered" || event->type == "bounced" || event->type == "complained");
  check(redoubt::proto::valid_email(event->recipient));
  check(event->message_id.size() <= 128);
  json::object o{{"id", event->id}, {"type", event->type}, {"recipient", event->recipient}};
  if (!event->message_id.empty()) o["message_id"] = event->message_id;
  auto again = api::parse_email_event(json::serialize(o));
  check(again.has_value());
  check(again->id == event->id && again->type == event->type && again->recipient == event->recipient &&
        again->message_id == event->message_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ts = next_line(in);
  auto sig = next_line(in);
  const std::string_view body = in;
  check_as_received(ts, sig, body);
  check_signed(ts, body);
  check_parsed(body);
  return 0;
}
