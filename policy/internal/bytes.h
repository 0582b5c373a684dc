// Tiny inline byte helpers for decision hot paths: the strings compared there (subject IDs,
// path segments) are short, where a libc memcmp/memchr call costs more than the work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sb::policy::internal {

// The first min(8, size) bytes of `text` as a zero-padded little-endian word. Built from at
// most two overlapping loads in registers: a byte-wise copy into a stack word followed by one
// 8-byte read would stall on store forwarding, on every decision.
inline std::uint64_t LoadPrefix(std::string_view text) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  if (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    return word;
  }
  if (n >= 4) {
    std::uint32_t head;
    std::uint32_t tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return head | (std::uint64_t{tail} << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  const auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
  return byte(0) | (byte(n / 2) << (8 * (n / 2))) | (byte(n - 1) << (8 * (n - 1)));
}

// ---- Eight bytes at a time (SWAR) -------------------------------------------------------
// Per-byte results are "byte masks": the high bit of each byte that qualifies.

inline constexpr std::uint64_t kEveryByte = 0x0101010101010101ull;  // times b: b in every byte
inline constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// The bytes of `word` that are zero (exact: no carries between bytes).
inline std::uint64_t ZeroBytes(std::uint64_t word) noexcept {
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full;
  return ~(((word & kLow7) + kLow7) | word | kLow7);
}

// The low `bytes` bytes of a word set (all eight from 8 bytes on).
constexpr std::uint64_t LowBytesMask(std::size_t bytes) noexcept {
  return bytes >= sizeof(std::uint64_t) ? ~std::uint64_t{0}
                                        : (std::uint64_t{1} << (8 * bytes)) - 1;
}

inline std::uint64_t NonZeroBytes(std::uint64_t word) noexcept {
  return ZeroBytes(word) ^ kHighBits;
}

// A byte mask as eight bits, byte i's as bit i. The multiplication moves byte i's high bit
// to bit 56 + i; no other product term reaches bits 56-63, and none carries.
inline unsigned GatherByteMask(std::uint64_t byte_mask) noexcept {
  return static_cast<unsigned>((byte_mask * 0x0002040810204081ull) >> 56);
}

inline bool BytesEqual(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x;
    std::uint64_t y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return false;
  }
  for (; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Whether `text` begins with `prefix`; prefixes of up to 8 bytes cost two word loads.
inline bool StartsWith(std::string_view text, std::string_view prefix) noexcept {
  const std::size_t n = prefix.size();
  if (n > text.size()) return false;
  if (n <= 8) return LoadPrefix(text.substr(0, n)) == LoadPrefix(prefix);
  return BytesEqual(text.substr(0, n), prefix);
}

}  // namespace sb::policy::internal
