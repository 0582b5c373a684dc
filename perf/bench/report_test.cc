#include "perf/bench/report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

namespace sb::bench {
namespace {

std::string Capture(void (*print)(std::FILE*, const Results&), const Results& r) {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&data, &size);
  print(f, r);
  std::fclose(f);
  std::string out(data, size);
  std::free(data);
  return out;
}

Results Sample() {
  Results r;
  r.options.scenario = Scenario::kDirect;
  r.options.confirm = true;
  r.mqtt_target = "127.0.0.1:1883";
  r.http_target = "127.0.0.1:8080";
  r.measured_s = 2;
  r.sent_window = 2000;
  r.received_window = 1990;
  r.sent_total = 2500;
  r.expected_total = 2400;
  r.received_total = 2390;
  r.lost = 10;
  r.http_status = {{200, 2400}, {429, 100}};
  r.failures = {{"response_timeout", 3}};
  r.reason_codes = {{"PUBACK 0x10 \"No matching\"", 1}};
  auto h = std::make_unique<LatencyHistogram>();
  for (int i = 1; i <= 100; ++i) h->Record(uint64_t(i) * 1000);
  r.response = Summarize(*h);
  r.exit_code = 3;
  return r;
}

TEST(ReportTest, TableShowsRatesLossStatusesAndLatency) {
  const std::string table = Capture(PrintTable, Sample());
  EXPECT_NE(table.find("confirmation=true"), std::string::npos);
  EXPECT_NE(table.find("995.0"), std::string::npos);  // received per second
  EXPECT_NE(table.find("429 x 100"), std::string::npos);
  EXPECT_NE(table.find("response_timeout"), std::string::npos);
  EXPECT_NE(table.find("send -> HTTP 2xx"), std::string::npos);
  EXPECT_NE(table.find("exit status 3"), std::string::npos);
}

TEST(ReportTest, JsonCarriesEveryFigureAndEscapesNames) {
  const std::string json = Capture(PrintJson, Sample());
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '\n');
  for (const char* key : {"\"sent\":2000", "\"received\":1990", "\"lost\":10", "\"receive_rate\":995.000",
                          "\"429\":100", "\"response_timeout\":3", "\"p99\":99.", "\"exit_code\":3",
                          "\"allocations_in_load\":0", "\\\"No matching\\\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << "\n" << json;
  }
  // Balanced braces: one object.
  int depth = 0;
  for (char c : json) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    ASSERT_GE(depth, 0);
  }
  EXPECT_EQ(depth, 0);
}

TEST(ReportTest, GroupsThousands) {
  EXPECT_EQ(Grouped(0), "0");
  EXPECT_EQ(Grouped(999), "999");
  EXPECT_EQ(Grouped(1000), "1,000");
  EXPECT_EQ(Grouped(1234567), "1,234,567");
}

}  // namespace
}  // namespace sb::bench
