#include "perf/bench/sequence_window.h"

#include <gtest/gtest.h>

namespace sb::bench {
namespace {

using Verdict = SequenceWindow::Verdict;

TEST(SequenceWindowTest, InOrderStreamHasNoAnomalies) {
  SequenceWindow w;
  for (uint64_t s = 0; s < 10000; ++s) ASSERT_EQ(w.Observe(s), Verdict::kInOrder);
  EXPECT_EQ(w.unique(), 10000u);
  EXPECT_EQ(w.duplicates(), 0u);
  EXPECT_EQ(w.reorders(), 0u);
  EXPECT_EQ(w.next_expected(), 10000u);
}

TEST(SequenceWindowTest, GapsAreNotDecidedUntilTheEnd) {
  // 0, 1, 5: the receiver cannot tell loss from delay; unique() lets the caller compute loss
  // from the sender's count afterwards.
  SequenceWindow w;
  w.Observe(0);
  w.Observe(1);
  EXPECT_EQ(w.Observe(5), Verdict::kInOrder);
  EXPECT_EQ(w.unique(), 3u);
  EXPECT_EQ(w.reorders(), 0u);
  // A late arrival of 3 is a reorder, not a duplicate.
  EXPECT_EQ(w.Observe(3), Verdict::kReordered);
  EXPECT_EQ(w.unique(), 4u);
  EXPECT_EQ(w.reorders(), 1u);
}

TEST(SequenceWindowTest, DuplicatesAreCountedOnce) {
  SequenceWindow w;
  w.Observe(0);
  w.Observe(1);
  w.Observe(2);
  EXPECT_EQ(w.Observe(2), Verdict::kDuplicate);
  EXPECT_EQ(w.Observe(0), Verdict::kDuplicate);
  EXPECT_EQ(w.unique(), 3u);
  EXPECT_EQ(w.duplicates(), 2u);
  EXPECT_EQ(w.reorders(), 0u);
  // A reordered message seen twice: one reorder, then a duplicate.
  w.Observe(10);
  EXPECT_EQ(w.Observe(7), Verdict::kReordered);
  EXPECT_EQ(w.Observe(7), Verdict::kDuplicate);
}

TEST(SequenceWindowTest, SlotsAreReusedWhenTheWindowSlides) {
  SequenceWindow w;
  w.Observe(0);
  // Jump exactly one window ahead: sequence kWindow reuses slot 0, which must read "unseen".
  w.Observe(SequenceWindow::kWindow);
  EXPECT_EQ(w.Observe(1), Verdict::kReordered);
  EXPECT_EQ(w.duplicates(), 0u);
  // Far jumps clear everything.
  w.Observe(10 * SequenceWindow::kWindow);
  EXPECT_EQ(w.Observe(10 * SequenceWindow::kWindow - 1), Verdict::kReordered);
  EXPECT_EQ(w.Observe(10 * SequenceWindow::kWindow), Verdict::kDuplicate);
}

TEST(SequenceWindowTest, TooOldToTellIsNotCountedAsUnique) {
  SequenceWindow w;
  w.Observe(0);
  w.Observe(2 * SequenceWindow::kWindow);
  EXPECT_EQ(w.Observe(1), Verdict::kTooOld);
  EXPECT_EQ(w.too_old(), 1u);
  EXPECT_EQ(w.reorders(), 1u);
  EXPECT_EQ(w.unique(), 2u);
}

TEST(SequenceWindowTest, SequencesNearTheTopOfTheRangeTerminate) {
  // A corrupt stamp may carry any 64-bit sequence; the window must not loop forever.
  SequenceWindow w;
  w.Observe(UINT64_MAX - 5);
  EXPECT_EQ(w.Observe(UINT64_MAX), SequenceWindow::Verdict::kInOrder);
  EXPECT_EQ(w.Observe(UINT64_MAX - 1), SequenceWindow::Verdict::kReordered);
  EXPECT_EQ(w.Observe(0), SequenceWindow::Verdict::kTooOld);
  EXPECT_EQ(w.unique(), 3u);
}

TEST(SequenceWindowTest, FirstMessageNeedNotBeZero) {
  // A receiver that joined late sees the stream from the middle.
  SequenceWindow w;
  EXPECT_EQ(w.Observe(1000), Verdict::kInOrder);
  EXPECT_EQ(w.Observe(999), Verdict::kReordered);
  EXPECT_EQ(w.Observe(1001), Verdict::kInOrder);
  EXPECT_EQ(w.unique(), 3u);
}

}  // namespace
}  // namespace sb::bench
