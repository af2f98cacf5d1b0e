#include "proto/json_util.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace redoubt::proto {
namespace json = boost::json;

result<json::object> parse_object(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = 16;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) return make_error(errc::invalid_argument, "malformed JSON");
  if (!v.is_object()) return make_error(errc::invalid_argument, "expected a JSON object");
  return std::move(v.as_object());
}

json::value stored_json_or(std::string_view text, json::value fallback) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return fallback;
  return v;
}

result<void> only_fields(const json::object& obj, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : obj) {
    bool known = false;
    for (auto a : allowed) known = known || kv.key() == a;
    if (!known) return make_error(errc::invalid_argument, "unknown field '" + std::string(kv.key()) + "'");
  }
  return {};
}

result<std::string> get_string(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error(errc::invalid_argument, "missing field '" + std::string(key) + "'");
  if (!it->value().is_string())
    return make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be a string");
  return std::string(it->value().as_string());
}

result<std::optional<std::string>> get_optional_string(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::optional<std::string>{};
  if (!it->value().is_string())
    return make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be a string");
  return std::optional<std::string>(std::string(it->value().as_string()));
}

namespace {
result<std::int64_t> as_int64(const json::value& v, std::string_view key) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.as_uint64());
  // Clients in JavaScript may send ids as strings to keep 64-bit precision.
  if (v.is_string()) {
    const auto& s = v.as_string();
    if (!s.empty() && s.size() <= 19) {
      std::int64_t n = 0;
      bool ok = true;
      for (char c : s) {
        if (c < '0' || c > '9') { ok = false; break; }
        int digit = c - '0';
        if (n > (INT64_MAX - digit) / 10) { ok = false; break; }  // would overflow
        n = n * 10 + digit;
      }
      if (ok) return n;
    }
  }
  return make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be an integer");
}
}  // namespace

result<std::int64_t> get_int64(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error(errc::invalid_argument, "missing field '" + std::string(key) + "'");
  return as_int64(it->value(), key);
}

result<std::optional<std::int64_t>> get_optional_int64(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::optional<std::int64_t>{};
  auto r = as_int64(it->value(), key);
  if (!r) return r.error();
  return std::optional<std::int64_t>(*r);
}

result<std::vector<std::int64_t>> get_optional_id_list(const json::object& obj, std::string_view key,
                                                        std::size_t max_items) {
  std::vector<std::int64_t> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return out;
  const auto bad = make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be an array of at most " +
                                                          std::to_string(max_items) + " distinct ids");
  if (!it->value().is_array() || it->value().as_array().size() > max_items) return bad;
  for (const auto& v : it->value().as_array()) {
    auto id = as_int64(v, key);
    if (!id || *id <= 0 || std::find(out.begin(), out.end(), *id) != out.end()) return bad;
    out.push_back(*id);
  }
  return out;
}

result<std::optional<bool>> get_optional_bool(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::optional<bool>{};
  if (!it->value().is_bool())
    return make_error(errc::invalid_argument, "field '" + std::string(key) + "' must be a boolean");
  return std::optional<bool>(it->value().as_bool());
}

std::string error_body(errc code, std::string_view message) {
  return error_body(errc_name(code), message);
}

std::string error_body(std::string_view code, std::string_view message) {
  json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  json::object outer;
  outer["error"] = std::move(inner);
  return json::serialize(outer);
}

}  // namespace redoubt::proto
