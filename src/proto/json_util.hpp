// Strict reading of JSON request bodies and frames: typed field access that returns
// invalid_argument with a message naming the field, and rejects unknown fields.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "base/errc.hpp"

namespace redoubt::proto {

// Parses text as one JSON object (depth-limited); UTF-8 is validated by the parser.
result<boost::json::object> parse_object(std::string_view text);

// Fails when obj has a key outside `allowed`.
result<void> only_fields(const boost::json::object& obj, std::initializer_list<std::string_view> allowed);

result<std::string> get_string(const boost::json::object& obj, std::string_view key);
result<std::optional<std::string>> get_optional_string(const boost::json::object& obj, std::string_view key);
result<std::int64_t> get_int64(const boost::json::object& obj, std::string_view key);
result<std::optional<std::int64_t>> get_optional_int64(const boost::json::object& obj, std::string_view key);
// An optional array of distinct positive ids (at most max_items); missing or null = empty.
result<std::vector<std::int64_t>> get_optional_id_list(const boost::json::object& obj, std::string_view key,
                                                        std::size_t max_items);
result<std::optional<bool>> get_optional_bool(const boost::json::object& obj, std::string_view key);

// JSON text the server stored itself (a database column), parsed; `fallback` when it does not
// parse, so that one damaged value never breaks a whole answer.
boost::json::value stored_json_or(std::string_view text, boost::json::value fallback);

// Serializes an error body: {"error":{"code":..., "message":...}}.
std::string error_body(errc code, std::string_view message);
// The same with the wire code already chosen (api/errors.hpp maps errc to it).
std::string error_body(std::string_view code, std::string_view message);

}  // namespace redoubt::proto
