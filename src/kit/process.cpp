#include "kit/process.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

namespace redoubt::kit {

std::string version_line(const program_info& p) {
  return std::string(p.name) + " 0.1.0 (schema " + std::to_string(p.schema_version) + ")";
}

std::optional<int> parse_command_line(int argc, char** argv, const program_info& p,
                                      std::string& config_path) {
  CLI::App app{std::string(p.description), std::string(p.name)};
  config_path = std::string(p.default_config);
  bool version = false;
  app.add_option("--config", config_path, "TOML config file")->capture_default_str();
  app.add_flag("--version", version, "print the version and the schema this build needs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << p.name << ": " << e.what() << "\nusage: " << p.name << " --config FILE\n";
    return 2;
  }
  if (version) {
    std::cout << version_line(p) << "\n";
    return 0;
  }
  return std::nullopt;
}

log::level parse_level(std::string_view text) {
  if (text == "debug") return log::level::debug;
  if (text == "warn") return log::level::warn;
  if (text == "error") return log::level::error;
  return log::level::info;
}

void start_logging(const program_info& p) {
  log::init(p.name, log::level::info);
}

void set_log_level(std::string_view text) {
  log::set_level(parse_level(text));
}

int fail(std::string_view program, const std::string& what) {
  log::error("startup_failed", {{"reason", what}});
  std::cerr << program << ": " << what << "\n";
  return 2;
}

result<void> check_schema_version(const result<int>& found, int expected) {
  if (!found)
    return make_error(errc::unavailable,
                      "cannot read the schema version: " + found.error().message);
  if (*found != expected)
    return make_error(errc::failed_precondition,
                      "database schema version " + std::to_string(*found) +
                          " but this build needs " + std::to_string(expected) +
                          "; run `redoubtctl migrate`");
  return {};
}

}  // namespace redoubt::kit
