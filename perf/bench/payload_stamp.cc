#include "perf/bench/payload_stamp.h"

#include <cstring>

namespace sb::bench {
namespace {

void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetLe32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void WriteStamp(const PayloadStamp& stamp, std::span<uint8_t> out) {
  PutLe32(out.data(), kStampMagic);
  PutLe32(out.data() + 4, stamp.stream);
  PutLe64(out.data() + 8, stamp.sequence);
  PutLe64(out.data() + 16, stamp.timestamp_ns);
}

std::optional<PayloadStamp> ReadStamp(std::span<const uint8_t> payload) {
  if (payload.size() < kStampSize || GetLe32(payload.data()) != kStampMagic) return std::nullopt;
  PayloadStamp stamp;
  stamp.stream = GetLe32(payload.data() + 4);
  stamp.sequence = GetLe64(payload.data() + 8);
  stamp.timestamp_ns = GetLe64(payload.data() + 16);
  return stamp;
}

void FillPayloadTemplate(std::span<uint8_t> out) {
  static constexpr char kPattern[] = "switchboard-bench padding ";
  for (size_t i = kStampSize; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(kPattern[(i - kStampSize) % (sizeof(kPattern) - 1)]);
  }
  if (out.size() >= kStampSize) std::memset(out.data(), 0, kStampSize);
}

}  // namespace sb::bench
