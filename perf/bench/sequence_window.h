// SequenceWindow: what one receiver saw of one stream's sequence numbers: unique messages,
// duplicates and reorderings, in constant memory (about 100 bytes) and without allocating.
//
// It remembers the highest sequence seen and a bitmap of the kWindow sequences below it.
// A sequence above the highest is new (gaps are not loss yet: loss is decided at the end,
// from the sender's count minus unique()). A sequence below the highest arrived out of
// order: a reorder, or a duplicate if its bit is already set. Sequences more than kWindow
// below the highest can no longer be told apart: they are counted as reorders and in
// too_old(), and not as unique (so a flood of them shows up as loss, never hides it).
//
// One writer (the receiver's worker thread); read after the run.
#pragma once

#include <cstdint>

namespace sb::bench {

class SequenceWindow {
 public:
  static constexpr uint64_t kWindow = 512;  // sequences remembered below the highest

  enum class Verdict : uint8_t { kInOrder, kReordered, kDuplicate, kTooOld };

  Verdict Observe(uint64_t sequence);

  uint64_t unique() const { return unique_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t reorders() const { return reorders_; }
  uint64_t too_old() const { return too_old_; }
  // One past the highest sequence seen (0 before the first message).
  uint64_t next_expected() const { return started_ ? highest_ + 1 : 0; }

 private:
  bool TestAndSet(uint64_t sequence);  // bit for `sequence`, which is within the window
  void Advance(uint64_t new_highest);

  uint64_t bits_[kWindow / 64] = {};  // bit (s % kWindow) <=> sequence s seen, s in window
  uint64_t highest_ = 0;
  uint64_t unique_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t reorders_ = 0;
  uint64_t too_old_ = 0;
  bool started_ = false;
};

}  // namespace sb::bench
