#include "engine/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::engine {
namespace {

struct Recorder {
  static inline std::vector<Timer*> fired;
  static void Fire(Timer* t) { fired.push_back(t); }
};

class TimerWheelTest : public ::testing::Test {
 protected:
  void SetUp() override { Recorder::fired.clear(); }
  Timer Make() {
    Timer t;
    t.callback = &Recorder::Fire;
    return t;
  }
};

TEST_F(TimerWheelTest, FiresAtDeadlineNeverEarly) {
  TimerWheel wheel(10, 64);
  wheel.Start(0);
  Timer t = Make();
  wheel.Schedule(&t, 1000);
  EXPECT_EQ(wheel.Advance(990), 0u);
  EXPECT_EQ(wheel.Advance(999), 0u);
  EXPECT_EQ(wheel.Advance(1000), 1u);
  ASSERT_EQ(Recorder::fired.size(), 1u);
  EXPECT_EQ(Recorder::fired[0], &t);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, DeadlinesBeyondOneRevolutionUseRounds) {
  TimerWheel wheel(10, 8);  // one revolution = 80 ms
  wheel.Start(0);
  Timer near = Make(), far = Make();
  wheel.Schedule(&near, 30);
  wheel.Schedule(&far, 30 + 80 * 5);
  for (uint64_t now = 0; now <= 400; now += 10) wheel.Advance(now);
  ASSERT_EQ(Recorder::fired.size(), 1u);
  EXPECT_EQ(Recorder::fired[0], &near);
  wheel.Advance(430);
  ASSERT_EQ(Recorder::fired.size(), 2u);
  EXPECT_EQ(Recorder::fired[1], &far);
}

TEST_F(TimerWheelTest, CancelledTimerNeverFires) {
  TimerWheel wheel(10, 64);
  wheel.Start(0);
  Timer a = Make(), b = Make();
  wheel.Schedule(&a, 100);
  wheel.Schedule(&b, 100);
  wheel.Cancel(&a);
  EXPECT_FALSE(a.linked);
  wheel.Advance(200);
  ASSERT_EQ(Recorder::fired.size(), 1u);
  EXPECT_EQ(Recorder::fired[0], &b);
}

TEST_F(TimerWheelTest, RescheduleMovesTheTimer) {
  TimerWheel wheel(10, 64);
  wheel.Start(0);
  Timer t = Make();
  wheel.Schedule(&t, 100);
  wheel.Schedule(&t, 500);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Advance(200);
  EXPECT_TRUE(Recorder::fired.empty());
  wheel.Advance(500);
  EXPECT_EQ(Recorder::fired.size(), 1u);
}

// A callback may cancel another timer that is due in the same tick.
struct CancelOther {
  static inline TimerWheel* wheel;
  static inline Timer* victim;
  static inline int calls;
  static void Fire(Timer*) {
    ++calls;
    wheel->Cancel(victim);
  }
};

TEST_F(TimerWheelTest, CallbackMayCancelADueTimer) {
  TimerWheel wheel(10, 64);
  wheel.Start(0);
  Timer a, b;
  a.callback = &CancelOther::Fire;
  b.callback = &CancelOther::Fire;
  CancelOther::wheel = &wheel;
  CancelOther::calls = 0;
  wheel.Schedule(&a, 100);
  wheel.Schedule(&b, 100);
  // Whichever fires first cancels the other.
  CancelOther::victim = &b;
  Timer* first_victim_guard = &a;
  (void)first_victim_guard;
  wheel.Advance(100);
  EXPECT_EQ(CancelOther::calls, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

// Regression: the wheel was once anchored at the first deadline scheduled, so an earlier
// deadline scheduled afterwards fired as late as that first one.
TEST_F(TimerWheelTest, EarlierDeadlineAfterALaterOneFiresOnTime) {
  TimerWheel wheel(10, 512);
  wheel.Start(1000);
  Timer late = Make(), early = Make();
  wheel.Schedule(&late, 11000);
  wheel.Schedule(&early, 2000);
  wheel.Advance(1990);
  EXPECT_TRUE(Recorder::fired.empty());
  wheel.Advance(2000);
  ASSERT_EQ(Recorder::fired.size(), 1u);
  EXPECT_EQ(Recorder::fired[0], &early);
}

TEST_F(TimerWheelTest, ReportsTimeToNextTick) {
  TimerWheel wheel(10, 64);
  wheel.Start(0);
  EXPECT_EQ(wheel.MillisUntilNextTick(0), -1);
  Timer t = Make();
  wheel.Schedule(&t, 55);
  EXPECT_GE(wheel.MillisUntilNextTick(0), 0);
  EXPECT_LE(wheel.MillisUntilNextTick(0), 60);
}

TEST_F(TimerWheelTest, ManyTimersAllFireOnce) {
  TimerWheel wheel(10, 16);
  wheel.Start(0);
  std::vector<Timer> timers(1000);
  for (size_t i = 0; i < timers.size(); ++i) {
    timers[i].callback = &Recorder::Fire;
    wheel.Schedule(&timers[i], 10 + (i * 37) % 2000);
  }
  for (uint64_t now = 0; now <= 2100; now += 7) wheel.Advance(now);
  EXPECT_EQ(Recorder::fired.size(), timers.size());
  EXPECT_EQ(wheel.size(), 0u);
}

}  // namespace
}  // namespace sb::engine
