// libFuzzer target for what switchboard-bench reads from the server under test: HTTP
// response framing (pipelined responses, one after another, as the senders read them) and
// the payload stamp plus sequence bookkeeping of received messages. Built with
// -DSWITCHBOARD_FUZZ=ON; must never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "perf/bench/http_response.h"
#include "perf/bench/payload_stamp.h"
#include "perf/bench/sequence_window.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // First byte picks the receive buffer size, the rest is what the server sent.
  if (size == 0) return 0;
  const size_t capacity = 64 + size_t{data[0]} * 64;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int responses = 0; !rest.empty() && responses < 1000; ++responses) {
    sb::bench::ResponseHead head;
    size_t total = 0;
    const auto parsed = sb::bench::FrameResponse(rest, capacity, &head, &total);
    if (parsed != sb::bench::ResponseParse::kComplete) break;
    if (total == 0 || total > rest.size()) __builtin_trap();  // framing must consume bytes it has
    rest.remove_prefix(total);
  }
  // The same bytes as a run of stamped payloads of 24 bytes.
  sb::bench::SequenceWindow window;
  for (size_t off = 1; off + sb::bench::kStampSize <= size; off += sb::bench::kStampSize) {
    auto stamp = sb::bench::ReadStamp(std::span<const uint8_t>(data + off, sb::bench::kStampSize));
    const uint64_t sequence = stamp ? stamp->sequence : 0;
    // Also raw sequence values, so the window sees arbitrary jumps.
    uint64_t raw = 0;
    for (size_t i = 0; i < 8; ++i) raw |= uint64_t{data[off + 8 + i]} << (8 * i);
    window.Observe(sequence);
    window.Observe(raw);
  }
  if (window.unique() + window.duplicates() + window.too_old() > 2 * size) __builtin_trap();
  return 0;
}
