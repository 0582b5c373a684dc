#include "engine/timer_wheel.h"

#include <cassert>

namespace sb::engine {

namespace {
uint32_t RoundUpToPowerOfTwo(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}
}  // namespace

TimerWheel::TimerWheel(uint32_t tick_ms, uint32_t slot_count)
    : tick_ms_(tick_ms ? tick_ms : 1),
      mask_(RoundUpToPowerOfTwo(slot_count ? slot_count : 1) - 1),
      slots_(mask_ + 2, nullptr),
      firing_slot_(mask_ + 1) {}

void TimerWheel::Schedule(Timer* timer, uint64_t deadline_ms) {
  if (timer->linked) Unlink(timer);
  timer->deadline_ms = deadline_ms;
  // Round the deadline up so a timer never fires early.
  uint64_t tick = (deadline_ms + tick_ms_ - 1) / tick_ms_;
  assert(started_ && "TimerWheel::Start must come first");
  if (tick < current_tick_) tick = current_tick_;
  Link(timer, tick);
}

void TimerWheel::Start(uint64_t now_ms) {
  started_ = true;
  current_tick_ = now_ms / tick_ms_;
}

void TimerWheel::Cancel(Timer* timer) {
  if (timer->linked) Unlink(timer);
}

void TimerWheel::PushFront(Timer* timer, uint32_t slot) {
  Timer*& head = slots_[slot];
  timer->prev = nullptr;
  timer->next = head;
  if (head) head->prev = timer;
  head = timer;
  timer->slot = slot;
  timer->linked = true;
}

void TimerWheel::Link(Timer* timer, uint64_t tick) {
  uint64_t distance = tick - current_tick_;
  timer->rounds = static_cast<uint32_t>(distance / (mask_ + 1));
  PushFront(timer, static_cast<uint32_t>(tick & mask_));
  ++size_;
}

void TimerWheel::Unlink(Timer* timer) {
  assert(timer->linked);
  if (timer->prev) {
    timer->prev->next = timer->next;
  } else {
    slots_[timer->slot] = timer->next;
  }
  if (timer->next) timer->next->prev = timer->prev;
  timer->prev = timer->next = nullptr;
  timer->linked = false;
  --size_;
}

size_t TimerWheel::Advance(uint64_t now_ms) {
  if (!started_) return 0;
  const uint64_t now_tick = now_ms / tick_ms_;
  size_t fired = 0;
  // Visit each elapsed tick once; after a stall longer than one revolution each slot is
  // still visited only once per revolution, decrementing rounds as it goes.
  uint64_t visits = 0;
  while (current_tick_ <= now_tick && visits <= mask_) {
    Timer* t = slots_[current_tick_ & mask_];
    while (t) {
      Timer* next = t->next;
      if (t->rounds == 0 || t->deadline_ms <= now_ms) {
        Unlink(t);
        ++size_;  // still counted while it waits on the firing list
        PushFront(t, firing_slot_);
      } else {
        --t->rounds;
      }
      t = next;
    }
    ++current_tick_;
    ++visits;
  }
  if (current_tick_ <= now_tick) current_tick_ = now_tick + 1;
  while (Timer* t = slots_[firing_slot_]) {
    Unlink(t);
    ++fired;
    t->callback(t);  // may re-schedule t, or cancel timers still on the firing list
  }
  return fired;
}
int64_t TimerWheel::MillisUntilNextTick(uint64_t now_ms) const {
  if (size_ == 0) return -1;
  uint64_t next_ms = current_tick_ * tick_ms_;
  return next_ms > now_ms ? static_cast<int64_t>(next_ms - now_ms) : 0;
}

}  // namespace sb::engine
