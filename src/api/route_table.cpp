#include "api/route_table.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_path.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include "proto/json_util.hpp"
#include "proto/text.hpp"

namespace redoubt::api {
namespace json = boost::json;
namespace urls = boost::urls;

std::string_view path_params::get(std::string_view name) const {
  for (const auto& [k, v] : values_)
    if (k == name) return v;
  return {};
}

void path_params::add(std::string_view name, std::string value, bool is_id) {
  if (is_id && !invalid_id_ && !parse_id(value)) invalid_id_ = name;
  values_.emplace_back(name, std::move(value));
}

std::optional<std::int64_t> path_params::id(std::string_view name) const { return parse_id(get(name)); }

std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

auth::client_info request_scope::client() const {
  // Stored with the session: valid UTF-8, cut on a character boundary (a byte cut at 256 could
  // split a character, and the database refuses invalid UTF-8).
  return {req.remote_ip, proto::header_text(req.header("user-agent"), 256), req.request_id};
}

result<json::object> request_scope::body() const {
  if (req.body.empty()) return json::object{};
  return proto::parse_object(req.body);
}

std::optional<std::string> request_scope::query(std::string_view key) const {
  auto params = urls::parse_query(req.query);
  if (!params) return std::nullopt;
  for (const auto& p : *params) {
    if (p.key.decode() != key) continue;
    return p.has_value ? p.value.decode() : std::string();
  }
  return std::nullopt;
}

body_reader::body_reader(const request_scope& rq, std::initializer_list<std::string_view> allowed) {
  auto parsed = rq.body();
  if (!parsed) {
    problem_ = parsed.error();
    return;
  }
  object_ = std::move(*parsed);
  if (auto ok = proto::only_fields(object_, allowed); !ok) problem_ = ok.error();
}

std::string body_reader::string(std::string_view key) { return take(proto::get_string(object_, key)); }

std::optional<std::string> body_reader::optional_string(std::string_view key) {
  return take(proto::get_optional_string(object_, key));
}

std::int64_t body_reader::int64(std::string_view key) { return take(proto::get_int64(object_, key)); }

std::optional<std::int64_t> body_reader::optional_int64(std::string_view key) {
  return take(proto::get_optional_int64(object_, key));
}

std::optional<bool> body_reader::optional_bool(std::string_view key) {
  return take(proto::get_optional_bool(object_, key));
}

std::vector<std::int64_t> body_reader::optional_id_list(std::string_view key, std::size_t max_items) {
  return take(proto::get_optional_id_list(object_, key, max_items));
}

std::optional<path_params> match_path(std::string_view pattern, std::string_view path) {
  auto segments = urls::parse_path(path);
  if (!segments) return std::nullopt;
  path_params out;
  auto seg = segments->begin();
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '/') {
      ++i;
      continue;
    }
    auto j = pattern.find('/', i);
    if (j == std::string_view::npos) j = pattern.size();
    const auto want = pattern.substr(i, j - i);
    i = j;
    while (seg != segments->end() && (*seg).empty()) ++seg;
    if (seg == segments->end()) return std::nullopt;
    const auto got = *seg++;
    if (want.front() == '{' && want.back() == '}') {
      auto name = want.substr(1, want.size() - 2);
      const bool text = name.ends_with(":text");
      if (text) name.remove_suffix(5);
      out.add(name, got.decode(), !text);
    } else if (want != std::string_view(got)) {
      return std::nullopt;
    }
  }
  while (seg != segments->end() && (*seg).empty()) ++seg;
  if (seg != segments->end()) return std::nullopt;
  return out;
}

std::optional<route_match> find_route(std::span<const route> table, std::string_view method, std::string_view path) {
  for (const auto& row : table) {
    if (row.method != method) continue;
    if (auto params = match_path(row.pattern, path)) return route_match{&row, std::move(*params)};
  }
  return std::nullopt;
}

http_response json_response(int status, const json::value& v) {
  http_response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

http_response no_content() {
  http_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace redoubt::api
