// PayloadStamp: the first kStampSize bytes of every message switchboard-bench sends, so the
// receiver can measure latency and count loss, duplicates and reordering per stream.
//
// Wire form (little-endian), then padding up to --payload bytes:
//   0..3   magic "SBb1"  (tells our messages from anything else on the broker)
//   4..7   stream id     (the publisher, or the device a direct-message sender targets)
//   8..15  sequence      (per stream, from 0, no gaps on the sending side)
//   16..23 timestamp     (steady clock ns: the scheduled send time in open loop, else the
//                         actual send time)
// Pure functions, no allocation, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sb::bench {

inline constexpr size_t kStampSize = 24;
inline constexpr uint32_t kStampMagic = 0x31624253;  // the bytes "SBb1" read little-endian

struct PayloadStamp {
  uint32_t stream = 0;
  uint64_t sequence = 0;
  uint64_t timestamp_ns = 0;
};

// Writes the stamp into out[0, kStampSize). Precondition: out.size() >= kStampSize.
void WriteStamp(const PayloadStamp& stamp, std::span<uint8_t> out);

// The stamp at the start of `payload`, or nullopt when the payload is shorter than a stamp
// or does not start with the magic (a message someone else published).
std::optional<PayloadStamp> ReadStamp(std::span<const uint8_t> payload);

// Fills `out` with the padding pattern that follows the stamp (printable, so a payload is
// readable in mosquitto_sub output), keeping the first kStampSize bytes for the stamp.
void FillPayloadTemplate(std::span<uint8_t> out);

}  // namespace sb::bench
