#include "net/mqtt/utf8.h"

#include <cstdint>
#include <cstring>

namespace sb::mqtt {

bool IsValidMqttUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  while (i < n) {
    // Topics and client IDs are nearly always ASCII: check 8 bytes at a time. With no high
    // bit set, (w - ones) & ~w & high is non-zero exactly when some byte is zero.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & kHighBits) != 0) break;
      if (((word - kOnes) & ~word & kHighBits) != 0) return false;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char lead = p[i];
    if (lead < 0x80) {
      if (lead == 0) return false;
      ++i;
      continue;
    }
    // Allowed ranges of the second byte depend on the lead byte (RFC 3629, section 4).
    size_t length;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead < 0xC2) {
      return false;  // a continuation byte, or an overlong two-byte form
    } else if (lead < 0xE0) {
      length = 2;
    } else if (lead < 0xF0) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;  // overlong
      if (lead == 0xED) second_max = 0x9F;  // surrogates
    } else if (lead < 0xF5) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;  // overlong
      if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < length) return false;
    if (p[i + 1] < second_min || p[i + 1] > second_max) return false;
    for (size_t k = 2; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace sb::mqtt
