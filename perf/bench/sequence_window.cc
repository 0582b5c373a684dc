#include "perf/bench/sequence_window.h"

namespace sb::bench {

bool SequenceWindow::TestAndSet(uint64_t sequence) {
  const uint64_t bit = sequence % kWindow;
  uint64_t& word = bits_[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const bool was_set = (word & mask) != 0;
  word |= mask;
  return was_set;
}

void SequenceWindow::Advance(uint64_t new_highest) {
  // Forget the sequences that slide out of the window: their slots now stand for the new
  // sequences (highest_, new_highest].
  if (new_highest - highest_ >= kWindow) {
    for (uint64_t& word : bits_) word = 0;
  } else {
    // Counted, not compared against new_highest: that may be UINT64_MAX (a corrupt stamp).
    for (uint64_t step = 1, steps = new_highest - highest_; step <= steps; ++step) {
      const uint64_t bit = (highest_ + step) % kWindow;
      bits_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
    }
  }
  highest_ = new_highest;
}

SequenceWindow::Verdict SequenceWindow::Observe(uint64_t sequence) {
  if (!started_) {
    started_ = true;
    // Sequences start at 0, so anything below the first one seen is still in the window's
    // past: pretend we had seen "sequence" as the highest from an empty window.
    highest_ = sequence;
    TestAndSet(sequence);
    ++unique_;
    return Verdict::kInOrder;
  }
  if (sequence > highest_) {
    Advance(sequence);
    TestAndSet(sequence);
    ++unique_;
    return Verdict::kInOrder;
  }
  if (highest_ - sequence >= kWindow) {
    ++too_old_;
    ++reorders_;
    return Verdict::kTooOld;
  }
  if (TestAndSet(sequence)) {
    ++duplicates_;
    return Verdict::kDuplicate;
  }
  ++unique_;
  ++reorders_;
  return Verdict::kReordered;
}

}  // namespace sb::bench
