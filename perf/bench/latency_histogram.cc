#include "perf/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sb::bench {

size_t LatencyHistogram::IndexOf(uint64_t value_ns) {
  if (value_ns > kMaxTrackableNs) value_ns = kMaxTrackableNs;
  if (value_ns < kSubBucketCount) return static_cast<size_t>(value_ns);
  // Shift so the value lands in [1024, 2048): that is its sub-bucket, `shift` its bucket.
  const int msb = 63 - std::countl_zero(value_ns);
  const int shift = msb - (kSubBucketBits - 1);
  const uint64_t sub_bucket = value_ns >> shift;
  return static_cast<size_t>(uint64_t(shift) * kHalfSubBucketCount + sub_bucket);
}

uint64_t LatencyHistogram::LowestEquivalent(size_t index) {
  if (index < kSubBucketCount) return index;
  const uint64_t shift = index / kHalfSubBucketCount - 1;
  const uint64_t sub_bucket = index - shift * kHalfSubBucketCount;
  return sub_bucket << shift;
}

uint64_t LatencyHistogram::HighestEquivalent(size_t index) {
  if (index < kSubBucketCount) return index;
  const uint64_t shift = index / kHalfSubBucketCount - 1;
  const uint64_t sub_bucket = index - shift * kHalfSubBucketCount;
  return ((sub_bucket + 1) << shift) - 1;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) {
    const uint64_t c = other.counts_[i].load(std::memory_order_relaxed);
    if (c) Bump(counts_[i], c);
  }
  if (other.count() == 0) return;
  Bump(total_count_, other.count());
  Bump(sum_ns_, other.sum_ns_.load(std::memory_order_relaxed));
  Bump(saturated_count_, other.saturated());
  max_ns_.store(std::max(max_ns_.load(std::memory_order_relaxed), other.max_ns()), std::memory_order_relaxed);
  min_ns_.store(std::min(min_ns_.load(std::memory_order_relaxed), other.min_ns()), std::memory_order_relaxed);
}

void LatencyHistogram::CopyFrom(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) {
    counts_[i].store(other.counts_[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  // The total is recomputed from the buckets read, so percentiles stay consistent even if
  // the writer moved on while we copied.
  uint64_t total = 0;
  for (size_t i = 0; i < kBucketCount; ++i) total += counts_[i].load(std::memory_order_relaxed);
  total_count_.store(total, std::memory_order_relaxed);
  sum_ns_.store(other.sum_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  max_ns_.store(other.max_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  min_ns_.store(other.min_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  saturated_count_.store(other.saturated(), std::memory_order_relaxed);
}

void LatencyHistogram::SubtractOlder(const LatencyHistogram& older) {
  uint64_t total = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    const uint64_t now = counts_[i].load(std::memory_order_relaxed);
    const uint64_t then = older.counts_[i].load(std::memory_order_relaxed);
    const uint64_t diff = now >= then ? now - then : 0;
    counts_[i].store(diff, std::memory_order_relaxed);
    total += diff;
  }
  total_count_.store(total, std::memory_order_relaxed);
  const uint64_t sum = sum_ns_.load(std::memory_order_relaxed);
  const uint64_t older_sum = older.sum_ns_.load(std::memory_order_relaxed);
  sum_ns_.store(sum >= older_sum ? sum - older_sum : 0, std::memory_order_relaxed);
  const uint64_t sat = saturated();
  saturated_count_.store(sat >= older.saturated() ? sat - older.saturated() : 0, std::memory_order_relaxed);
}

void LatencyHistogram::Reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
  total_count_.store(0, std::memory_order_relaxed);
  sum_ns_.store(0, std::memory_order_relaxed);
  max_ns_.store(0, std::memory_order_relaxed);
  min_ns_.store(UINT64_MAX, std::memory_order_relaxed);
  saturated_count_.store(0, std::memory_order_relaxed);
}

double LatencyHistogram::mean_ns() const {
  const uint64_t n = count();
  return n ? double(sum_ns_.load(std::memory_order_relaxed)) / double(n) : 0.0;
}

uint64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * double(total)));
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(HighestEquivalent(i), max_ns_.load(std::memory_order_relaxed));
  }
  return max_ns_.load(std::memory_order_relaxed);
}

}  // namespace sb::bench
