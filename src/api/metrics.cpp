#include "api/metrics.hpp"

#include <cstdio>

namespace redoubt::api {

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value, const char* labels) {
  char buf[512];
  if (*labels == '\0' || labels[0] == '\0') {
    std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                  name, value);
  } else {
    std::snprintf(buf, sizeof buf, "%s{%s} %.17g\n", name, labels, value);
  }
  out += buf;
}

}  // namespace redoubt::api
