// Metrics in the Prometheus text exposition format (version 0.0.4), for the server's and the
// worker's /metrics. `exposition` gathers samples into families and writes each family once,
// with its HELP and TYPE lines before its samples; `metrics_registry` holds the collectors a
// process registers at start-up and renders them all with one writer.
//
// Threads: an exposition is a value used by one thread. A registry is filled before the
// process serves; render() may then run on any thread (collectors read atomics).
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace redoubt::kit {

enum class metric_type { counter, gauge };

std::string_view type_name(metric_type t);

struct metric_label {
  std::string_view name;
  std::string_view value;  // escaped when written
};

class exposition {
 public:
  void counter(std::string_view name, std::string_view help, double value,
               std::initializer_list<metric_label> labels = {});
  void gauge(std::string_view name, std::string_view help, double value,
             std::initializer_list<metric_label> labels = {});
  void add(std::string_view name, metric_type type, std::string_view help, double value,
           std::initializer_list<metric_label> labels = {});

  // The families in the order they were first added, each with HELP, TYPE and its samples.
  std::string text() const;

 private:
  struct family {
    std::string name;
    metric_type type;
    std::string help;
    std::string samples;
  };
  std::vector<family> families_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

class metrics_registry {
 public:
  using collector = std::function<void(exposition&)>;
  void add(collector c) { collectors_.push_back(std::move(c)); }
  std::string render() const;

 private:
  std::vector<collector> collectors_;
};

// The low-level pieces, for writers that assemble the text themselves (api::append_metric).
void append_family_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help);
// `labels` is already rendered (`a="1",b="2"`) or empty.
void append_sample(std::string& out, std::string_view name, std::string_view labels, double value);
// A label value or HELP text with backslash, double quote (labels only) and newline escaped.
void append_escaped(std::string& out, std::string_view text, bool is_label_value);

// Writes `text` to `path` through a temporary file and a rename, so that a reader (the
// node_exporter textfile collector) never sees half a file. False when it cannot be written.
bool write_file_atomically(const std::string& path, const std::string& text);

}  // namespace redoubt::kit
