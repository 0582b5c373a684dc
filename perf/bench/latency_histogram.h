// LatencyHistogram: an HDR-style log-linear histogram of nanosecond latencies with three
// significant digits (relative bucket width <= 1/1024) from 0 to kMaxTrackableNs (60 s).
//
// Layout: values below 2048 ns have one bucket each; above, every power of two is split
// into 1024 equal sub-buckets, so the reported value of a bucket is within 0.1% of any value
// that fell into it. Values above kMaxTrackableNs are counted in the top bucket and flagged
// by saturated(); the exact maximum is kept separately.
//
// Ownership and threads: one writer thread records (Record never allocates, never locks:
// relaxed stores of single-writer counters); any thread may read concurrently (Snapshot,
// counts) and sees each bucket either before or after an update, which is what a once a
// second progress line needs. Merging and percentile queries are for after the writers have
// stopped, or on a snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sb::bench {

class LatencyHistogram {
 public:
  static constexpr uint64_t kMaxTrackableNs = 60'000'000'000ull;
  static constexpr int kSubBucketBits = 11;  // 2048 linear values: 3 significant digits
  static constexpr uint64_t kSubBucketCount = uint64_t{1} << kSubBucketBits;
  static constexpr uint64_t kHalfSubBucketCount = kSubBucketCount / 2;
  // Index of the largest trackable value, plus one.
  static constexpr size_t kBucketCount = 27 * kHalfSubBucketCount;  // 2^35 <= 60e9 < 2^36

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Single writer. No allocation.
  void Record(uint64_t value_ns) {
    const size_t index = IndexOf(value_ns);
    Bump(counts_[index], 1);
    Bump(total_count_, 1);
    Bump(sum_ns_, value_ns);
    if (value_ns > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(value_ns, std::memory_order_relaxed);
    if (value_ns < min_ns_.load(std::memory_order_relaxed)) min_ns_.store(value_ns, std::memory_order_relaxed);
    if (value_ns > kMaxTrackableNs) Bump(saturated_count_, 1);
  }

  // Adds every count of `other` (which must not be written concurrently).
  void Merge(const LatencyHistogram& other);
  // Copies `other` (a concurrent writer may be running: each field is read once).
  void CopyFrom(const LatencyHistogram& other);
  // this := this - older, bucket by bucket (for "since the last snapshot" figures; min and
  // max become those of this histogram and are only approximate for the interval).
  void SubtractOlder(const LatencyHistogram& older);
  void Reset();

  uint64_t count() const { return total_count_.load(std::memory_order_relaxed); }
  uint64_t max_ns() const { return count() ? max_ns_.load(std::memory_order_relaxed) : 0; }
  uint64_t min_ns() const { return count() ? min_ns_.load(std::memory_order_relaxed) : 0; }
  uint64_t saturated() const { return saturated_count_.load(std::memory_order_relaxed); }
  double mean_ns() const;

  // The value at `percentile` (0..100]: the highest value equivalent to the bucket that
  // holds the ceil(percentile% of count)-th smallest recording, capped at the exact maximum.
  // 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const;

  // Bucket arithmetic, exposed for tests.
  static size_t IndexOf(uint64_t value_ns);
  static uint64_t LowestEquivalent(size_t index);
  static uint64_t HighestEquivalent(size_t index);

 private:
  static void Bump(std::atomic<uint64_t>& counter, uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kBucketCount> counts_{};
  std::atomic<uint64_t> total_count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
  std::atomic<uint64_t> min_ns_{UINT64_MAX};
  std::atomic<uint64_t> saturated_count_{0};
};

}  // namespace sb::bench
