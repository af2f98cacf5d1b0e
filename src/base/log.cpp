#include "base/log.hpp"

#include <cstdio>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace redoubt::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_logger_mt("redoubt");
    l->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc));
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return instance;
}

std::string service_name = "redoubt";

spdlog::level::level_enum to_spdlog(level lvl) {
  switch (lvl) {
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void init(std::string_view service, level min_level) {
  service_name = std::string(service);
  set_level(min_level);
}

void set_level(level min_level) { logger()->set_level(to_spdlog(min_level)); }

void write(level lvl, std::string_view event, std::initializer_list<field> fields) {
  auto& l = logger();
  if (!l->should_log(to_spdlog(lvl))) return;
  std::string line;
  line.reserve(128);
  line += "\"service\":";
  append_json_string(line, service_name);
  line += ",\"event\":";
  append_json_string(line, event);
  for (const auto& f : fields) {
    line.push_back(',');
    append_json_string(line, f.key);
    line.push_back(':');
    std::visit(
        [&line](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string_view>) {
            append_json_string(line, v);
          } else if constexpr (std::is_same_v<V, bool>) {
            line += v ? "true" : "false";
          } else {
            line += std::to_string(v);
          }
        },
        f.value);
  }
  l->log(to_spdlog(lvl), "{}", line);
}

}  // namespace redoubt::log
