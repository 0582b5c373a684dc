#include "perf/bench/payload_stamp.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::bench {
namespace {

TEST(PayloadStampTest, RoundTripsAtTheStartOfThePayload) {
  std::vector<uint8_t> payload(100);
  FillPayloadTemplate(payload);
  const PayloadStamp stamp{0xDEADBEEF, 0x0102030405060708ull, 123456789012345ull};
  WriteStamp(stamp, payload);
  EXPECT_EQ(payload[0], 'S');
  EXPECT_EQ(payload[1], 'B');
  EXPECT_EQ(payload[2], 'b');
  EXPECT_EQ(payload[3], '1');
  const auto read = ReadStamp(payload);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->stream, stamp.stream);
  EXPECT_EQ(read->sequence, stamp.sequence);
  EXPECT_EQ(read->timestamp_ns, stamp.timestamp_ns);
  // The padding after the stamp is left alone and printable.
  for (size_t i = kStampSize; i < payload.size(); ++i) EXPECT_TRUE(payload[i] >= 0x20 && payload[i] < 0x7f);
}

TEST(PayloadStampTest, RejectsShortAndForeignPayloads) {
  std::vector<uint8_t> payload(kStampSize);
  WriteStamp(PayloadStamp{1, 2, 3}, payload);
  EXPECT_TRUE(ReadStamp(payload).has_value());
  EXPECT_FALSE(ReadStamp(std::span<const uint8_t>(payload).first(kStampSize - 1)).has_value());
  payload[0] = 'X';
  EXPECT_FALSE(ReadStamp(payload).has_value());
  EXPECT_FALSE(ReadStamp({}).has_value());
}

TEST(PayloadStampTest, MinimumPayloadIsJustTheStamp) {
  std::vector<uint8_t> payload(kStampSize);
  FillPayloadTemplate(payload);
  WriteStamp(PayloadStamp{7, 8, 9}, payload);
  EXPECT_EQ(ReadStamp(payload)->sequence, 8u);
}

}  // namespace
}  // namespace sb::bench
