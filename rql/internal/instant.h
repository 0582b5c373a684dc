// ISO-8601 instants, for comparing Thing fields such as `_modified` with `time:now`.
// Internal to rql/; pure functions, no allocation, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "rql/internal/number.h"

namespace sb::rql::internal {

struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;    // 0..999'999'999
};

// Accepts what java.time.Instant / OffsetDateTime print and parse:
//   YYYY-MM-DD 'T' hh:mm[:ss[.f{1,9}]] ('Z' | (+|-)hh[:mm] | (+|-)hhmm)
// ('t' and 'z' also accepted; seconds may be 60 for a leap second). Dates are validated
// (month lengths, leap years). Anything else is false.
bool ParseIsoInstant(std::string_view text, Instant* out) noexcept;

Instant ToInstant(std::chrono::system_clock::time_point time) noexcept;

Order CompareInstants(const Instant& a, const Instant& b) noexcept;

}  // namespace sb::rql::internal
