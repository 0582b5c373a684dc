#include "perf/bench/tick_percentile.h"

#include <algorithm>
#include <cstddef>

namespace sb::bench {
namespace {

// Readings this close belong to one group: a scaled clock's steps differ by a tick (25 or 26).
constexpr std::uint64_t kGroupJitterTicks = 2;
// A group spanning more than this is a fine-grained clock's run of neighbouring values.
constexpr std::uint64_t kMaxGroupSpanTicks = 4;

struct Group {
  double centre;       // mean of its readings
  std::size_t before;  // readings in the groups below it
  std::size_t count;
};

}  // namespace

double TickPercentile(std::vector<std::uint64_t>& ticks, double fraction) {
  std::sort(ticks.begin(), ticks.end());
  const double rank = std::clamp(fraction, 0.0, 1.0) * double(ticks.size());
  const std::size_t at = std::min(static_cast<std::size_t>(rank), ticks.size() - 1);

  std::vector<Group> groups;
  bool coarse = true;
  for (std::size_t i = 0; i < ticks.size() && coarse;) {
    std::size_t j = i + 1;
    double sum = double(ticks[i]);
    while (j < ticks.size() && ticks[j] - ticks[j - 1] <= kGroupJitterTicks) sum += double(ticks[j++]);
    coarse = ticks[j - 1] - ticks[i] <= kMaxGroupSpanTicks;
    groups.push_back(Group{sum / double(j - i), i, j - i});
    i = j;
  }
  if (!coarse || groups.size() < 2) return double(ticks[at]);

  // The step: the smallest distance between neighbouring groups (some steps may be empty).
  double step = groups[1].centre - groups[0].centre;
  for (std::size_t g = 2; g < groups.size(); ++g) {
    step = std::min(step, groups[g].centre - groups[g - 1].centre);
  }
  const Group& group = *std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
    return at < g.before + g.count;
  });
  const double within = std::clamp((rank - double(group.before)) / double(group.count), 0.0, 1.0);
  return group.centre - step / 2 + step * within;
}

double TrimmedMeanTicks(std::vector<std::uint64_t>& ticks, double trim) {
  std::sort(ticks.begin(), ticks.end());
  const std::size_t dropped = static_cast<std::size_t>(std::clamp(trim, 0.0, 1.0) * double(ticks.size()));
  const std::size_t kept = std::max<std::size_t>(1, ticks.size() - dropped);
  double sum = 0;
  for (std::size_t i = 0; i < kept; ++i) sum += double(ticks[i]);
  return sum / double(kept);
}

}  // namespace sb::bench
