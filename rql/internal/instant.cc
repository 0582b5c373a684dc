#include "rql/internal/instant.h"

namespace sb::rql::internal {
namespace {

bool ReadDigits(std::string_view text, size_t* pos, size_t count, int* value) {
  if (text.size() - *pos < count) return false;
  int result = 0;
  for (size_t k = 0; k < count; ++k) {
    const char c = text[*pos + k];
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *pos += count;
  *value = result;
  return true;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool Consume(std::string_view text, size_t* pos, char a, char b = '\0') {
  if (*pos < text.size() && (text[*pos] == a || (b != '\0' && text[*pos] == b))) {
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

bool ParseIsoInstant(std::string_view text, Instant* out) noexcept {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Consume(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Consume(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day) || !Consume(text, &pos, 'T', 't') ||
      !ReadDigits(text, &pos, 2, &hour) || !Consume(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute)) {
    return false;
  }
  int32_t nanos = 0;
  if (Consume(text, &pos, ':')) {
    if (!ReadDigits(text, &pos, 2, &second)) return false;
    if (Consume(text, &pos, '.')) {
      size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (++digits > 9) return false;
        nanos = nanos * 10 + (text[pos] - '0');
        ++pos;
      }
      if (digits == 0) return false;
      for (size_t k = digits; k < 9; ++k) nanos *= 10;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  int offset_seconds = 0;
  if (Consume(text, &pos, 'Z', 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos++] == '-' ? -1 : 1;
    int offset_hours = 0;
    int offset_minutes = 0;
    if (!ReadDigits(text, &pos, 2, &offset_hours)) return false;
    if (Consume(text, &pos, ':')) {
      if (!ReadDigits(text, &pos, 2, &offset_minutes)) return false;
    } else if (pos < text.size()) {
      if (!ReadDigits(text, &pos, 2, &offset_minutes)) return false;
    }
    if (offset_hours > 18 || offset_minutes > 59) return false;
    offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  out->seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                 offset_seconds;
  out->nanos = nanos;
  return true;
}

Instant ToInstant(std::chrono::system_clock::time_point time) noexcept {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  int64_t seconds = since_epoch / 1'000'000'000;
  int64_t nanos = since_epoch % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    seconds -= 1;
  }
  return {seconds, static_cast<int32_t>(nanos)};
}

Order CompareInstants(const Instant& a, const Instant& b) noexcept {
  if (a.seconds != b.seconds) return a.seconds < b.seconds ? Order::kLess : Order::kGreater;
  if (a.nanos != b.nanos) return a.nanos < b.nanos ? Order::kLess : Order::kGreater;
  return Order::kEqual;
}

}  // namespace sb::rql::internal
