#include "kit/metrics.hpp"

#include <cstdio>
#include <fstream>

namespace redoubt::kit {

std::string_view type_name(metric_type t) {
  return t == metric_type::counter ? "counter" : "gauge";
}

void append_escaped(std::string& out, std::string_view text, bool is_label_value) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && is_label_value) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_family_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  char number[32];
  std::snprintf(number, sizeof number, " %.17g\n", value);
  out += number;
}

void exposition::counter(std::string_view name, std::string_view help, double value,
                         std::initializer_list<metric_label> labels) {
  add(name, metric_type::counter, help, value, labels);
}

void exposition::gauge(std::string_view name, std::string_view help, double value,
                       std::initializer_list<metric_label> labels) {
  add(name, metric_type::gauge, help, value, labels);
}

void exposition::add(std::string_view name, metric_type type, std::string_view help, double value,
                     std::initializer_list<metric_label> labels) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    it = index_.emplace(std::string(name), families_.size()).first;
    families_.push_back(family{std::string(name), type, std::string(help), {}});
  }
  std::string rendered;
  for (const auto& l : labels) {
    if (!rendered.empty()) rendered += ',';
    rendered += l.name;
    rendered += "=\"";
    append_escaped(rendered, l.value, true);
    rendered += '"';
  }
  append_sample(families_[it->second].samples, name, rendered, value);
}

std::string exposition::text() const {
  std::string out;
  for (const auto& f : families_) {
    append_family_header(out, f.name, type_name(f.type), f.help);
    out += f.samples;
  }
  return out;
}

std::string metrics_registry::render() const {
  exposition e;
  for (const auto& c : collectors_) c(e);
  return e.text();
}

bool write_file_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << text)) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace redoubt::kit
