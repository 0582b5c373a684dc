// Percentiles of short intervals timed with a coarse clock. On some virtual machines the TSC
// advances in steps of many ticks (the development VM's: 25-26 ticks, 10 ns), so a 93 ns
// decision reads as 90 or 100 ns. The clock's phase at an interval's start is random, so a
// reading is the true duration rounded up or down to a step, with probabilities that keep
// the mean of readings exact (dithering) but leave their order statistics off by up to a
// step. Used by the microbenchmarks that time single decisions (policy_benchmark).
#pragma once

#include <cstdint>
#include <vector>

namespace sb::bench {

// The `fraction` quantile (0..1) of `ticks`, interval readings in clock ticks.
//   Fine-grained clock (readings spread over neighbouring values): the order statistic.
//   Coarse clock (readings fall into narrow groups, a step apart): grouped data. Each group
//   stands for durations spread evenly over one step around its centre, and the quantile is
//   interpolated within the group it falls in, so its error is a fraction of a step instead
//   of up to a whole one.
// Sorts `ticks`. Precondition: !ticks.empty().
double TickPercentile(std::vector<std::uint64_t>& ticks, double fraction);

// The mean of `ticks` without its top `trim` fraction (interrupts). Under dithering the mean
// of readings is exact where their median is not: use it for a fixed cost such as an empty
// timed interval. Sorts `ticks`. Precondition: !ticks.empty().
double TrimmedMeanTicks(std::vector<std::uint64_t>& ticks, double trim = 0.01);

}  // namespace sb::bench
