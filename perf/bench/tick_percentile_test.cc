#include "perf/bench/tick_percentile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sb::bench {
namespace {

// A clock like the development VM's TSC: a 100 MHz counter scaled to 2.596 GHz ticks, so it
// advances by 25 or 26 ticks at a time.
std::uint64_t CoarseClock(double ns) { return std::uint64_t(std::floor(ns / 10.0) * 25.96); }

struct Timed {
  std::vector<double> true_ticks;      // the durations
  std::vector<std::uint64_t> readings;  // as the clock shows them
};

// `count` intervals of normally distributed length (in ticks), each starting at a random
// phase of the clock, read with `clock` (ns -> ticks).
template <typename Clock>
Timed TimeIntervals(double mean_ticks, double sd_ticks, Clock&& clock, int count = 20000) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> length(mean_ticks, sd_ticks);
  std::uniform_real_distribution<double> start_ns(0, 1e6);
  Timed out;
  for (int i = 0; i < count; ++i) {
    const double ticks = std::max(1.0, length(rng));
    const double start = start_ns(rng);
    out.true_ticks.push_back(ticks);
    out.readings.push_back(clock(start + ticks / 2.596) - clock(start));
  }
  return out;
}

double TrueMedian(std::vector<double> ticks) {
  std::nth_element(ticks.begin(), ticks.begin() + ticks.size() / 2, ticks.end());
  return ticks[ticks.size() / 2];
}

TEST(TickPercentile, RecoversTheMedianFromACoarseClock) {
  double worst_plain_error = 0;
  for (const double sd : {8.0, 20.0, 40.0}) {
    for (double mean = 200; mean < 240; mean += 3.7) {
      Timed timed = TimeIntervals(mean, sd, CoarseClock);
      const double truth = TrueMedian(timed.true_ticks);
      std::vector<std::uint64_t> readings = timed.readings;
      std::nth_element(readings.begin(), readings.begin() + readings.size() / 2, readings.end());
      worst_plain_error = std::max(worst_plain_error, std::abs(double(readings[readings.size() / 2]) - truth));
      EXPECT_NEAR(TickPercentile(timed.readings, 0.5), truth, 3.0) << "mean " << mean << " sd " << sd;
    }
  }
  // The plain order statistic is off by up to half a step and more (why this exists).
  EXPECT_GT(worst_plain_error, 10.0);
}

TEST(TickPercentile, RecoversTheTailFromACoarseClock) {
  Timed timed = TimeIntervals(230, 40, CoarseClock);
  std::vector<double> truth = timed.true_ticks;
  std::sort(truth.begin(), truth.end());
  EXPECT_NEAR(TickPercentile(timed.readings, 0.99), truth[std::size_t(0.99 * truth.size())], 5.0);
}

TEST(TickPercentile, IsTheOrderStatisticOfAFineClock) {
  Timed timed = TimeIntervals(230, 20, [](double ns) { return std::uint64_t(ns * 2.596); });
  std::vector<std::uint64_t> readings = timed.readings;
  std::sort(readings.begin(), readings.end());
  EXPECT_EQ(TickPercentile(timed.readings, 0.5), double(readings[readings.size() / 2]));
  EXPECT_EQ(TickPercentile(timed.readings, 0.99), double(readings[std::size_t(0.99 * readings.size())]));
}

TEST(TickPercentile, OneGroupIsItsOwnValue) {
  std::vector<std::uint64_t> readings(100, 52);
  EXPECT_EQ(TickPercentile(readings, 0.5), 52.0);
}

TEST(TrimmedMeanTicks, IsExactForDitheredReadingsOfAFixedInterval) {
  // An empty timed interval of 60.6 ticks reads as 52 or 78 (the development VM: 2/3, 1/3).
  Timed timed = TimeIntervals(60.6, 0.0, CoarseClock);
  EXPECT_NEAR(TrimmedMeanTicks(timed.readings), 60.6, 1.0);
  std::vector<std::uint64_t> readings = timed.readings;
  std::nth_element(readings.begin(), readings.begin() + readings.size() / 2, readings.end());
  EXPECT_GT(std::abs(double(readings[readings.size() / 2]) - 60.6), 5.0);  // the median is not
}

TEST(TrimmedMeanTicks, DropsTheTopOutliers) {
  std::vector<std::uint64_t> readings(99, 50);
  readings.push_back(100000);  // an interrupt
  EXPECT_EQ(TrimmedMeanTicks(readings, 0.01), 50.0);
}

}  // namespace
}  // namespace sb::bench
