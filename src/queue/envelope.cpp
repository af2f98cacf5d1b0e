#include "queue/envelope.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/enum_names.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::queue {
namespace json = boost::json;

namespace {

// Domain separation: a signature over an envelope can never be replayed as another object.
constexpr std::string_view signing_context = "redoubt-job-v1";

std::string signed_bytes(std::string_view data) {
  std::string m;
  m.reserve(signing_context.size() + 1 + data.size());
  m += signing_context;
  m += '\0';
  m += data;
  return m;
}

bool valid_type(std::string_view t) noexcept {
  if (t.empty() || t.size() > 40) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

bool valid_correlation(std::string_view c) noexcept {
  if (c.empty() || c.size() > 64) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
          ch == '_'))
      return false;
  return true;
}

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

bool valid_job_id(std::string_view id) noexcept {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !is_lower_hex(id[i])) return false;
  }
  return true;
}


std::string_view rejection_name(rejection r) noexcept {
  static constexpr std::array<std::string_view, 5> names{
      "malformed", "unknown_key", "bad_signature", "expired", "not_yet_valid"};
  static_assert(names.size() == static_cast<std::size_t>(rejection::not_yet_valid) + 1);
  return enum_name(r, names, "malformed");
}

result<signed_job> seal(const job_envelope& job, const secret_string& secret_key, std::string_view public_key) {
  if (!valid_job_id(job.id)) return make_error(errc::invalid_argument, "job id must be a lowercase uuid");
  if (!valid_type(job.type)) return make_error(errc::invalid_argument, "job type must match [a-z_]{1,40}");
  if (!valid_correlation(job.correlation_id))
    return make_error(errc::invalid_argument, "correlation id must be 1-64 of [A-Za-z0-9_-]");
  if (job.expires_at <= job.created_at) return make_error(errc::invalid_argument, "job expires before it is created");
  boost::system::error_code ec;
  json::value payload = json::parse(job.payload_json, ec);
  if (ec || !payload.is_object()) return make_error(errc::invalid_argument, "job payload must be a JSON object");
  json::object o;
  o["v"] = 1;
  o["id"] = job.id;
  o["type"] = job.type;
  o["created_at"] = job.created_at;
  o["expires_at"] = job.expires_at;
  o["correlation_id"] = job.correlation_id;
  o["payload"] = std::move(payload);
  signed_job out;
  out.data = json::serialize(o);
  if (out.data.size() > max_envelope_bytes) return make_error(errc::payload_too_large, "job envelope too large");
  out.key_id = signing_key_id(public_key);
  out.signature = crypto::to_hex(crypto::sign_detached(secret_key, signed_bytes(out.data)));
  return out;
}

open_result open(std::string_view data, std::string_view key_id, std::string_view signature_hex,
                 const std::map<std::string, std::string>& trusted_keys, std::int64_t now) {
  open_result r;
  if (data.empty() || data.size() > max_envelope_bytes || signature_hex.size() != 128) return r;
  auto key = trusted_keys.find(std::string(key_id));
  if (key == trusted_keys.end()) {
    r.why = rejection::unknown_key;
    return r;
  }
  auto sig = crypto::from_hex(signature_hex);
  if (!sig || !crypto::verify_detached(key->second, signed_bytes(data), *sig)) {
    r.why = rejection::bad_signature;
    return r;
  }
  // Signed by us, so the rest is a consistency check; still strict, and never throws.
  r.why = rejection::malformed;
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = 8;
  json::value v = json::parse(data, ec, {}, opt);
  if (ec || !v.is_object()) return r;
  const auto& o = v.get_object();
  if (o.size() != 7) return r;
  const auto* ver = o.if_contains("v");
  const auto* id = o.if_contains("id");
  const auto* type = o.if_contains("type");
  const auto* created = o.if_contains("created_at");
  const auto* expires = o.if_contains("expires_at");
  const auto* corr = o.if_contains("correlation_id");
  const auto* payload = o.if_contains("payload");
  if (!ver || !ver->is_int64() || ver->get_int64() != 1) return r;
  if (!id || !id->is_string() || !valid_job_id(id->get_string())) return r;
  if (!type || !type->is_string() || !valid_type(type->get_string())) return r;
  if (!created || !created->is_int64() || !expires || !expires->is_int64()) return r;
  if (!corr || !corr->is_string() || !valid_correlation(corr->get_string())) return r;
  if (!payload || !payload->is_object()) return r;
  r.job.id = std::string(id->get_string());
  r.job.type = std::string(type->get_string());
  r.job.created_at = created->get_int64();
  r.job.expires_at = expires->get_int64();
  r.job.correlation_id = std::string(corr->get_string());
  r.job.payload_json = json::serialize(payload->get_object());
  if (r.job.expires_at <= now) {
    r.why = rejection::expired;
    return r;
  }
  if (r.job.created_at > now + max_clock_skew_seconds) {
    r.why = rejection::not_yet_valid;
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace redoubt::queue
