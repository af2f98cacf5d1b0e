#include "proto/frames.hpp"

#include <boost/json.hpp>

#include "proto/json_util.hpp"
#include "proto/text.hpp"

namespace redoubt::proto {
namespace json = boost::json;

result<std::string> validate_body(std::string_view body, std::size_t max_chars) {
  auto len = utf8_length(body);
  if (!len) return make_error(errc::invalid_argument, "body is not valid UTF-8");
  if (has_control_chars(body, true))
    return make_error(errc::invalid_argument, "body contains control characters");
  auto trimmed = trim(body);
  if (trimmed.empty()) return make_error(errc::invalid_argument, "body is empty");
  if (*len > max_chars)
    return make_error(errc::payload_too_large,
                      "body exceeds " + std::to_string(max_chars) + " characters");
  return trimmed;
}

namespace {

template <class T>
result<T> fail(const error& e) {
  return e;
}

result<client_frame> parse_object_frame(const json::object& obj, const frame_limits& limits,
                                        std::optional<std::string> id) {
  auto type = get_string(obj, "type");
  if (!type) return type.error();

  if (*type == "send") {
    if (auto r = only_fields(obj, {"type", "id", "room", "client_id", "body", "reply_to", "attachments"}); !r)
      return r.error();
    send_frame f;
    f.id = id;
    auto room = get_int64(obj, "room");
    if (!room) return room.error();
    f.room = *room;
    auto cid = get_string(obj, "client_id");
    if (!cid) return cid.error();
    if (!valid_client_id(*cid))
      return make_error(errc::invalid_argument, "client_id must be 1-64 of [A-Za-z0-9_-]");
    f.client_id = std::move(*cid);
    auto body = get_string(obj, "body");
    if (!body) return body.error();
    auto files = get_optional_id_list(obj, "attachments", limits.max_attachments);
    if (!files) return files.error();
    f.attachments = std::move(*files);
    auto valid = validate_body(*body, limits.max_body_chars, !f.attachments.empty());
    if (!valid) return valid.error();
    f.body = std::move(*valid);
    auto reply = get_optional_int64(obj, "reply_to");
    if (!reply) return reply.error();
    f.reply_to = *reply;
    return client_frame{std::move(f)};
  }
  if (*type == "subscribe") {
    if (auto r = only_fields(obj, {"type", "id", "rooms"}); !r) return r.error();
    subscribe_frame f;
    f.id = id;
    if (auto it = obj.find("rooms"); it != obj.end() && !it->value().is_null()) {
      if (!it->value().is_object())
        return make_error(errc::invalid_argument, "field 'rooms' must be an object of room -> seq");
      const auto& rooms = it->value().as_object();
      if (rooms.size() > 10000) return make_error(errc::invalid_argument, "too many rooms");
      for (const auto& kv : rooms) {
        json::object tmp;
        tmp["k"] = json::string(kv.key());
        auto room = get_int64(tmp, "k");
        if (!room) return make_error(errc::invalid_argument, "room ids must be integers");
        tmp["v"] = kv.value();
        auto seq = get_int64(tmp, "v");
        if (!seq || *seq < 0) return make_error(errc::invalid_argument, "seq must be an integer >= 0");
        f.after_seq[*room] = *seq;
      }
    }
    return client_frame{std::move(f)};
  }
  if (*type == "typing") {
    if (auto r = only_fields(obj, {"type", "id", "room"}); !r) return r.error();
    auto room = get_int64(obj, "room");
    if (!room) return room.error();
    return client_frame{typing_frame{id, *room}};
  }
  if (*type == "read") {
    if (auto r = only_fields(obj, {"type", "id", "room", "seq"}); !r) return r.error();
    auto room = get_int64(obj, "room");
    if (!room) return room.error();
    auto seq = get_int64(obj, "seq");
    if (!seq) return seq.error();
    if (*seq < 0) return make_error(errc::invalid_argument, "seq must be >= 0");
    return client_frame{read_frame{id, *room, *seq}};
  }
  if (*type == "presence") {
    if (auto r = only_fields(obj, {"type", "id", "status"}); !r) return r.error();
    auto status = get_string(obj, "status");
    if (!status) return status.error();
    if (*status != "online" && *status != "away")
      return make_error(errc::invalid_argument, "status must be 'online' or 'away'");
    return client_frame{presence_frame{id, std::move(*status)}};
  }
  if (*type == "ping") {
    if (auto r = only_fields(obj, {"type", "id"}); !r) return r.error();
    return client_frame{ping_frame{id}};
  }
  return make_error(errc::invalid_argument, "unknown frame type '" + *type + "'");
}

}  // namespace

result<client_frame> parse_client_frame(std::string_view text, const frame_limits& limits,
                                        std::optional<std::string>& id_out) {
  auto obj = parse_object(text);
  if (!obj) return obj.error();
  auto id = get_optional_string(*obj, "id");
  if (!id) return id.error();
  if (*id && (id->value().size() > 64 || !valid_client_id(**id)))
    return make_error(errc::invalid_argument, "id must be 1-64 of [A-Za-z0-9_-]");
  id_out = *id;
  return parse_object_frame(*obj, limits, *id);
}

}  // namespace redoubt::proto

namespace redoubt::proto {
result<std::string> validate_body(std::string_view body, std::size_t max_chars, bool has_attachments) {
  if (has_attachments && trim(body).empty()) return std::string();
  return validate_body(body, max_chars);
}
result<std::string> validate_display_name(std::string_view name) {
  auto len = utf8_length(name);
  if (!len) return make_error(errc::invalid_argument, "display_name is not valid UTF-8");
  if (has_control_chars(name, false)) return make_error(errc::invalid_argument, "display_name contains control characters");
  if (has_bidi_controls(name))
    return make_error(errc::invalid_argument, "display_name contains bidirectional formatting characters");
  auto trimmed = trim(name);
  if (*utf8_length(trimmed) > 64) return make_error(errc::invalid_argument, "display_name is longer than 64 characters");
  return trimmed;
}

}  // namespace redoubt::proto
