#include "queue/job_types.hpp"

#include <boost/json.hpp>

#include "proto/enum_names.hpp"

namespace redoubt::queue {
namespace json = boost::json;

namespace {

result<json::object> payload_object(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return make_error(errc::invalid_argument, "job payload is not a JSON object");
  return std::move(v.get_object());
}

// Signed by our own server, so no leniency: a JSON integer > 0, not a string or a float.
result<std::int64_t> positive_id(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_int64() || v->get_int64() <= 0)
    return make_error(errc::invalid_argument,
                      "job payload needs '" + std::string(key) + "' as an integer > 0");
  return v->get_int64();
}

template <class Payload>
result<Payload> read(const json::object& o);

template <>
result<user_job_payload> read(const json::object& o) {
  auto id = positive_id(o, "user_id");
  if (!id) return id.error();
  return user_job_payload{*id};
}

template <>
result<attachment_job_payload> read(const json::object& o) {
  auto id = positive_id(o, "attachment_id");
  if (!id) return id.error();
  return attachment_job_payload{*id};
}

template <>
result<empty_job_payload> read(const json::object&) {
  return empty_job_payload{};
}

// Indexed by job_type; these are the outbox kinds and the NATS subject suffixes (jobs.<type>).
constexpr proto::enum_names<job_type, all_job_types.size()> names{
    {"verify_email", "password_reset", "notify_unread", "retention", "thumbnail", "scan_attachment",
     "files_maintenance", "signup_existing_email"}};
}  // namespace

template <class Payload>
result<Payload> decode_payload(std::string_view text) {
  auto o = payload_object(text);
  if (!o) return o.error();
  return read<Payload>(*o);
}

template result<user_job_payload> decode_payload(std::string_view);
template result<attachment_job_payload> decode_payload(std::string_view);
template result<empty_job_payload> decode_payload(std::string_view);

std::string encode_payload(const user_job_payload& p) {
  return json::serialize(json::object{{"user_id", p.user_id}});
}

std::string encode_payload(const attachment_job_payload& p) {
  return json::serialize(json::object{{"attachment_id", p.attachment_id}});
}

std::string encode_payload(const empty_job_payload&) {
  return "{}";
}

std::string_view to_string(job_type t) noexcept {
  return names(t);
}

std::optional<job_type> job_type_from_string(std::string_view s) noexcept {
  return names.find(s);
}

}  // namespace redoubt::queue
