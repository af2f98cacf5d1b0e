#include "api/metrics.hpp"

#include "kit/metrics.hpp"

namespace redoubt::api {

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value, const char* labels) {
  // The first sample of a family carries no labels and writes the header; labelled samples
  // follow it.
  if (labels[0] == '\0') kit::append_family_header(out, name, type, help);
  kit::append_sample(out, name, labels, value);
}

}  // namespace redoubt::api
