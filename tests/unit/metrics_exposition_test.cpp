// The one Prometheus text writer of the server and the worker: every family has HELP and TYPE
// before its samples, exactly once, and label values are escaped.
#include <gtest/gtest.h>

#include "api/metrics.hpp"
#include "kit/metrics.hpp"

namespace redoubt::kit {
namespace {

TEST(Exposition, EachFamilyHasHelpAndTypeBeforeItsSamples) {
  exposition e;
  e.counter("jobs_total", "Jobs done.", 3);
  e.gauge("queue_length", "Jobs waiting.", 7);
  EXPECT_EQ(e.text(),
            "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
            "# HELP queue_length Jobs waiting.\n# TYPE queue_length gauge\nqueue_length 7\n");
}

TEST(Exposition, SamplesOfOneFamilyStayTogetherUnderOneHeader) {
  exposition e;
  e.counter("requests_total", "Requests.", 1, {{"class", "2xx"}});
  e.gauge("open", "Open.", 2);
  e.counter("requests_total", "Requests.", 4, {{"class", "5xx"}});
  EXPECT_EQ(e.text(),
            "# HELP requests_total Requests.\n# TYPE requests_total counter\n"
            "requests_total{class=\"2xx\"} 1\nrequests_total{class=\"5xx\"} 4\n"
            "# HELP open Open.\n# TYPE open gauge\nopen 2\n");
}

TEST(Exposition, LabelValuesAndHelpAreEscaped) {
  exposition e;
  e.gauge("up", "Line one\nback\\slash \"quoted\"", 1, {{"loop", "a\"b\\c\nd"}, {"node", "n1"}});
  EXPECT_EQ(e.text(),
            "# HELP up Line one\\nback\\\\slash \"quoted\"\n# TYPE up gauge\n"
            "up{loop=\"a\\\"b\\\\c\\nd\",node=\"n1\"} 1\n");
}

TEST(Exposition, FractionsAndLargeCountersKeepTheirValue) {
  exposition e;
  e.counter("seconds_sum", "Time.", 1.5);
  e.counter("bytes_total", "Bytes.", 9007199254740992.0);
  auto text = e.text();
  EXPECT_NE(text.find("seconds_sum 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("bytes_total 9007199254740992\n"), std::string::npos);
}

TEST(Exposition, RegistryRendersEveryCollectorWithOneWriter) {
  metrics_registry r;
  r.add([](exposition& e) { e.counter("a_total", "A.", 1); });
  r.add([](exposition& e) { e.gauge("b", "B.", 2); });
  EXPECT_EQ(
      r.render(),
      "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP b B.\n# TYPE b gauge\nb 2\n");
}

TEST(Exposition, AppendMetricKeepsItsFormat) {
  std::string out;
  api::append_metric(out, "x_total", "counter", "X.", 2);
  api::append_metric(out, "x_total", "counter", "", 5, "class=\"2xx\"");
  EXPECT_EQ(out,
            "# HELP x_total X.\n# TYPE x_total counter\nx_total 2\nx_total{class=\"2xx\"} 5\n");
}

}  // namespace
}  // namespace redoubt::kit
