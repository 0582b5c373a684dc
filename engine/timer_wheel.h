// TimerWheel: a hashed timing wheel for one shard (keep-alives, confirmation deadlines).
//
// Timers are intrusive: the owner embeds a `Timer` and the wheel links it in place, so
// scheduling, cancelling and firing never allocate. Resolution is one tick (default 10 ms);
// deadlines further than one revolution away carry a round count. Shard-local: not
// thread-safe, and a Timer must be cancelled (or have fired) before its owner is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::engine {

class TimerWheel;

struct Timer {
  using Callback = void (*)(Timer*);
  Callback callback = nullptr;   // invoked when the deadline passes; may re-schedule
  uint64_t deadline_ms = 0;
  // Intrusive links; managed by the wheel.
  Timer* prev = nullptr;
  Timer* next = nullptr;
  uint32_t rounds = 0;
  uint32_t slot = 0;
  bool linked = false;
};

class TimerWheel {
 public:
  explicit TimerWheel(uint32_t tick_ms = 10, uint32_t slot_count = 512);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Anchors the wheel at the current time; call once before scheduling anything.
  void Start(uint64_t now_ms);

  // Arms `timer` to fire at `deadline_ms` (absolute, same clock as Advance). Re-arming a
  // linked timer moves it. Deadlines in the past fire on the next Advance.
  void Schedule(Timer* timer, uint64_t deadline_ms);
  void Cancel(Timer* timer);

  // Fires every timer whose deadline is <= now_ms. Callbacks may schedule and cancel
  // timers (including the one firing). Returns the number fired.
  size_t Advance(uint64_t now_ms);

  // Milliseconds until the next tick that has work, or -1 when nothing is scheduled. The
  // reactor sleeps at most this long.
  int64_t MillisUntilNextTick(uint64_t now_ms) const;

  size_t size() const { return size_; }
  uint32_t tick_ms() const { return tick_ms_; }

 private:
  void Link(Timer* timer, uint64_t tick);
  void Unlink(Timer* timer);

  uint32_t tick_ms_;
  uint32_t mask_;
  void PushFront(Timer* timer, uint32_t slot);

  // Heads of doubly linked lists: one per slot, plus the last one holding the timers that
  // are due and about to fire (so a callback may cancel any of them safely).
  std::vector<Timer*> slots_;
  uint32_t firing_slot_;
  uint64_t current_tick_ = 0;   // the next tick to process
  bool started_ = false;
  size_t size_ = 0;
};

}  // namespace sb::engine
