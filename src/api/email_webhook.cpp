#include "api/email_webhook.hpp"

#include <charconv>

#include <boost/json.hpp>

#include "crypto/crypto.hpp"
#include "proto/json_util.hpp"
#include "proto/text.hpp"

namespace redoubt::api {
namespace json = boost::json;

std::string sign_webhook(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text += timestamp;
  signed_text += '.';
  signed_text += body;
  return "v1=" + crypto::hmac_sha256_hex(secret, signed_text);
}

result<void> verify_webhook_signature(std::string_view secret, std::string_view timestamp,
                                      std::string_view signature, std::string_view body, std::int64_t now,
                                      std::int64_t tolerance_seconds) {
  if (body.size() > max_webhook_body_bytes) return make_error(errc::payload_too_large, "webhook body too large");
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (timestamp.empty() || timestamp.size() > 12 || ec != std::errc() || end != timestamp.data() + timestamp.size())
    return make_error(errc::unauthenticated, "missing or malformed webhook timestamp");
  if (ts < now - tolerance_seconds || ts > now + tolerance_seconds)
    return make_error(errc::unauthenticated, "webhook timestamp outside the accepted window");
  if (!crypto::constant_time_equal(sign_webhook(secret, timestamp, body), signature))
    return make_error(errc::unauthenticated, "bad webhook signature");
  return {};
}

result<email_event> parse_email_event(std::string_view body) {
  auto obj = proto::parse_object(body);
  if (!obj) return obj.error();
  if (auto ok = proto::only_fields(*obj, {"id", "type", "recipient", "message_id"}); !ok) return ok.error();
  email_event e;
  auto id = proto::get_string(*obj, "id");
  if (!id) return id.error();
  auto type = proto::get_string(*obj, "type");
  if (!type) return type.error();
  auto recipient = proto::get_string(*obj, "recipient");
  if (!recipient) return recipient.error();
  auto message_id = proto::get_optional_string(*obj, "message_id");
  if (!message_id) return message_id.error();
  if (id->empty() || id->size() > 128) return make_error(errc::invalid_argument, "id must be 1-128 characters");
  if (*type != "delivered" && *type != "bounced" && *type != "complained")
    return make_error(errc::invalid_argument, "type must be delivered, bounced or complained");
  if (!proto::valid_email(*recipient)) return make_error(errc::invalid_argument, "recipient is not a valid address");
  if (*message_id && (*message_id)->size() > 128)
    return make_error(errc::invalid_argument, "message_id must be at most 128 characters");
  e.id = std::move(*id);
  e.type = std::move(*type);
  e.recipient = std::move(*recipient);
  if (*message_id) e.message_id = std::move(**message_id);
  return e;
}

}  // namespace redoubt::api
