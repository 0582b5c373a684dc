// Structured logging: one line per event, `key=value` pairs, to stderr. Rate-limited per
// call site (at most kLogBurst lines per second; the excess is counted and reported in the
// next line that gets through) so a flood of bad input cannot turn into a flood of logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace sb::engine::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
bool Enabled(Level level);
uint64_t NowSeconds();

inline constexpr uint32_t kLogBurst = 20;

struct CallSite {
  std::atomic<uint64_t> second{0};
  std::atomic<uint32_t> count{0};
  std::atomic<uint64_t> suppressed{0};
  // True when this line may be printed; *suppressed_out is how many were dropped before it.
  bool Admit(uint64_t* suppressed_out) {
    uint64_t now = NowSeconds();
    if (second.load(std::memory_order_relaxed) != now) {
      second.store(now, std::memory_order_relaxed);
      count.store(0, std::memory_order_relaxed);
    }
    if (count.fetch_add(1, std::memory_order_relaxed) >= kLogBurst) {
      suppressed.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    *suppressed_out = suppressed.exchange(0, std::memory_order_relaxed);
    return true;
  }
};

void Write(Level level, uint64_t suppressed, const char* format, ...) __attribute__((format(printf, 3, 4)));

}  // namespace sb::engine::log

#define SB_LOG(level, ...)                                                   \
  do {                                                                       \
    if (::sb::engine::log::Enabled(level)) {                                 \
      static ::sb::engine::log::CallSite sb_log_site;                        \
      uint64_t sb_log_suppressed = 0;                                        \
      if (sb_log_site.Admit(&sb_log_suppressed))                             \
        ::sb::engine::log::Write(level, sb_log_suppressed, __VA_ARGS__);     \
    }                                                                        \
  } while (0)

#define LOG_DEBUG(...) SB_LOG(::sb::engine::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) SB_LOG(::sb::engine::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) SB_LOG(::sb::engine::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) SB_LOG(::sb::engine::log::Level::kError, __VA_ARGS__)
