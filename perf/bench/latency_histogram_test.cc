#include "perf/bench/latency_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>
#include <algorithm>

#include "perf/bench/alloc_counter.h"

namespace sb::bench {
namespace {

TEST(LatencyHistogramTest, BucketsAreContiguousAndWithinOnePerMille) {
  // Every index up to the one of the largest trackable value maps back to a range that
  // holds exactly the values that map to it.
  const size_t top = LatencyHistogram::IndexOf(LatencyHistogram::kMaxTrackableNs);
  for (size_t i = 0; i < top; ++i) {
    const uint64_t lo = LatencyHistogram::LowestEquivalent(i);
    const uint64_t hi = LatencyHistogram::HighestEquivalent(i);
    ASSERT_LE(lo, hi);
    ASSERT_EQ(LatencyHistogram::IndexOf(lo), i);
    ASSERT_EQ(LatencyHistogram::IndexOf(hi), i);
    ASSERT_EQ(LatencyHistogram::LowestEquivalent(i + 1), hi + 1);
    // Three significant digits: the bucket is at most 1/1024 of its lowest value wide.
    if (lo >= 2048) {
      ASSERT_LE(double(hi - lo + 1) / double(lo), 1.0 / 1024 + 1e-12);
    }
  }
  EXPECT_LE(LatencyHistogram::LowestEquivalent(top), LatencyHistogram::kMaxTrackableNs);
  EXPECT_GE(LatencyHistogram::HighestEquivalent(top), LatencyHistogram::kMaxTrackableNs);
  EXPECT_EQ(LatencyHistogram::IndexOf(LatencyHistogram::kMaxTrackableNs), LatencyHistogram::IndexOf(UINT64_MAX));
  EXPECT_LT(LatencyHistogram::IndexOf(LatencyHistogram::kMaxTrackableNs), LatencyHistogram::kBucketCount);
}

TEST(LatencyHistogramTest, PercentilesOfAUniformRangeAreExactToThreeDigits) {
  auto h = std::make_unique<LatencyHistogram>();
  for (uint64_t us = 1; us <= 10000; ++us) h->Record(us * 1000);  // 1 us .. 10 ms
  EXPECT_EQ(h->count(), 10000u);
  EXPECT_NEAR(double(h->ValueAtPercentile(50)), 5'000'000.0, 5'000'000.0 / 1000);
  EXPECT_NEAR(double(h->ValueAtPercentile(99)), 9'900'000.0, 9'900'000.0 / 1000);
  EXPECT_NEAR(double(h->ValueAtPercentile(99.9)), 9'990'000.0, 9'990'000.0 / 1000);
  EXPECT_EQ(h->ValueAtPercentile(100), 10'000'000u);  // capped at the exact maximum
  EXPECT_EQ(h->max_ns(), 10'000'000u);
  EXPECT_EQ(h->min_ns(), 1000u);
  EXPECT_NEAR(h->mean_ns(), 5'000'500.0, 1.0);
}

TEST(LatencyHistogramTest, MatchesSortedSampleOnRandomData) {
  auto h = std::make_unique<LatencyHistogram>();
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<uint64_t> values;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = uint64_t(dist(rng));
    values.push_back(v);
    h->Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const uint64_t exact = values[size_t(std::ceil(p / 100 * values.size())) - 1];
    const uint64_t got = h->ValueAtPercentile(p);
    EXPECT_GE(got, exact) << p;  // highest equivalent value of the bucket
    EXPECT_LE(double(got - exact), double(exact) / 1000 + 1) << p;
  }
}

TEST(LatencyHistogramTest, SaturatesAboveSixtySeconds) {
  auto h = std::make_unique<LatencyHistogram>();
  h->Record(120'000'000'000ull);
  EXPECT_EQ(h->saturated(), 1u);
  EXPECT_EQ(h->max_ns(), 120'000'000'000ull);
  EXPECT_GE(h->ValueAtPercentile(50), 59'000'000'000ull);
}

TEST(LatencyHistogramTest, MergeAndSubtract) {
  auto a = std::make_unique<LatencyHistogram>();
  auto b = std::make_unique<LatencyHistogram>();
  for (int i = 0; i < 100; ++i) a->Record(1000);
  for (int i = 0; i < 100; ++i) b->Record(3000);
  auto total = std::make_unique<LatencyHistogram>();
  total->Merge(*a);
  total->Merge(*b);
  EXPECT_EQ(total->count(), 200u);
  EXPECT_EQ(total->ValueAtPercentile(50), 1000u);
  EXPECT_NEAR(double(total->ValueAtPercentile(75)), 3000.0, 3.0);
  // "Since the last snapshot": only b's recordings remain.
  auto interval = std::make_unique<LatencyHistogram>();
  interval->CopyFrom(*total);
  interval->SubtractOlder(*a);
  EXPECT_EQ(interval->count(), 100u);
  EXPECT_NEAR(double(interval->ValueAtPercentile(1)), 3000.0, 3.0);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  auto h = std::make_unique<LatencyHistogram>();
  EXPECT_EQ(h->ValueAtPercentile(99), 0u);
  EXPECT_EQ(h->max_ns(), 0u);
  EXPECT_EQ(h->min_ns(), 0u);
  EXPECT_EQ(h->mean_ns(), 0.0);
}

TEST(LatencyHistogramTest, RecordDoesNotAllocate) {
  auto h = std::make_unique<LatencyHistogram>();
  const uint64_t before = ThreadAllocations();
  for (uint64_t v = 1; v < 50'000'000'000ull; v = v * 3 + 1) h->Record(v);
  EXPECT_EQ(ThreadAllocations() - before, 0u);
}

}  // namespace
}  // namespace sb::bench
