// TokenBucket: request-rate limiting (per sender connection, per device) without timers.
// Refilled lazily from the caller's clock on each Take. Shard-local value type.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sb::engine {

class TokenBucket {
 public:
  TokenBucket() = default;
  // rate_per_second == 0 disables limiting.
  TokenBucket(uint32_t rate_per_second, uint32_t burst)
      : rate_(rate_per_second), burst_(std::max<uint32_t>(burst, 1)), tokens_(float(burst_)) {}

  bool Take(uint64_t now_ms) {
    if (rate_ == 0) return true;
    if (now_ms > last_ms_) {
      tokens_ = std::min<float>(float(burst_), tokens_ + float(now_ms - last_ms_) * float(rate_) / 1000.0f);
      last_ms_ = now_ms;
    }
    if (tokens_ < 1.0f) return false;
    tokens_ -= 1.0f;
    return true;
  }

 private:
  uint32_t rate_ = 0;
  uint32_t burst_ = 1;
  float tokens_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace sb::engine
