// Structured logging: one JSON object per line on stderr (spdlog underneath).
// Callers pass an event name and typed fields; never pass a secret_string here.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace redoubt::log {

enum class level { debug, info, warn, error };

struct field {
  using value_type = std::variant<std::int64_t, std::string_view, bool, double>;

  template <std::integral T>
    requires(!std::same_as<T, bool>)
  field(std::string_view k, T v) : key(k), value(static_cast<std::int64_t>(v)) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}

  std::string_view key;
  value_type value;
};

void init(std::string_view service, level min_level);
void set_level(level min_level);
void write(level lvl, std::string_view event, std::initializer_list<field> fields);

inline void debug(std::string_view event, std::initializer_list<field> f = {}) { write(level::debug, event, f); }
inline void info(std::string_view event, std::initializer_list<field> f = {}) { write(level::info, event, f); }
inline void warn(std::string_view event, std::initializer_list<field> f = {}) { write(level::warn, event, f); }
inline void error(std::string_view event, std::initializer_list<field> f = {}) { write(level::error, event, f); }

// Appends s to out as a JSON string literal (with quotes), escaping control characters.
void append_json_string(std::string& out, std::string_view s);

}  // namespace redoubt::log
