#include "rql/internal/instant.h"

#include <gtest/gtest.h>

namespace sb::rql::internal {
namespace {

Instant ParseOk(std::string_view text) {
  Instant instant;
  EXPECT_TRUE(ParseIsoInstant(text, &instant)) << text;
  return instant;
}

TEST(RqlInstant, ParsesUtcAndOffsets) {
  EXPECT_EQ(ParseOk("1970-01-01T00:00:00Z").seconds, 0);
  EXPECT_EQ(ParseOk("2024-02-29T12:34:56Z").seconds, 1709210096);
  EXPECT_EQ(ParseOk("2024-02-29T12:34:56.5Z").nanos, 500000000);
  EXPECT_EQ(ParseOk("2024-02-29T12:34:56.123456789Z").nanos, 123456789);
  EXPECT_EQ(ParseOk("2024-02-29T14:34:56+02:00").seconds, 1709210096);
  EXPECT_EQ(ParseOk("2024-02-29T10:34:56-0200").seconds, 1709210096);
  EXPECT_EQ(ParseOk("2024-02-29T13:34:56+01").seconds, 1709210096);
  EXPECT_EQ(ParseOk("2024-02-29t12:34z").seconds, 1709210040);
  EXPECT_EQ(ParseOk("1969-12-31T23:59:59Z").seconds, -1);
}

TEST(RqlInstant, RejectsMalformedText) {
  Instant instant;
  for (const char* text :
       {"", "2024-02-29", "2024-02-29T12:34:56", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567890Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00Zjunk",
        "24-01-01T00:00:00Z", "2024-01-01T00:00:00+1", "not a date"}) {
    EXPECT_FALSE(ParseIsoInstant(text, &instant)) << text;
  }
}

TEST(RqlInstant, OrdersInstants) {
  EXPECT_EQ(CompareInstants(ParseOk("2024-01-01T00:00:00Z"), ParseOk("2024-01-01T00:00:00.1Z")),
            Order::kLess);
  EXPECT_EQ(CompareInstants(ParseOk("2024-01-01T01:00:00+01:00"),
                            ParseOk("2024-01-01T00:00:00Z")),
            Order::kEqual);
  const Instant now = ToInstant(std::chrono::system_clock::time_point(std::chrono::seconds(90)) +
                                std::chrono::milliseconds(250));
  EXPECT_EQ(now.seconds, 90);
  EXPECT_EQ(now.nanos, 250000000);
}

}  // namespace
}  // namespace sb::rql::internal
