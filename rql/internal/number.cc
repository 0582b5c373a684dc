#include "rql/internal/number.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace sb::rql::internal {
namespace {

template <typename T>
Order Compare3(T a, T b) {
  if (a < b) return Order::kLess;
  if (b < a) return Order::kGreater;
  return Order::kEqual;
}

Order Reverse(Order order) {
  if (order == Order::kLess) return Order::kGreater;
  if (order == Order::kGreater) return Order::kLess;
  return order;
}

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

// Exact: the double's integral part is compared as an integer, then its fraction.
Order CompareInt64WithDouble(int64_t x, double d) {
  if (std::isnan(d)) return Order::kUnordered;
  if (d >= kTwoTo63) return Order::kLess;
  if (d < -kTwoTo63) return Order::kGreater;
  const double whole = std::trunc(d);
  const auto whole_int = static_cast<int64_t>(whole);
  if (x != whole_int) return x < whole_int ? Order::kLess : Order::kGreater;
  const double fraction = d - whole;
  if (fraction > 0) return Order::kLess;
  if (fraction < 0) return Order::kGreater;
  return Order::kEqual;
}

Order CompareUint64WithDouble(uint64_t x, double d) {
  if (std::isnan(d)) return Order::kUnordered;
  if (d >= kTwoTo64) return Order::kLess;
  if (d < 0) return Order::kGreater;
  const double whole = std::trunc(d);
  const auto whole_int = static_cast<uint64_t>(whole);
  if (x != whole_int) return x < whole_int ? Order::kLess : Order::kGreater;
  return d > whole ? Order::kLess : Order::kEqual;
}

Order CompareInt64WithUint64(int64_t x, uint64_t y) {
  if (x < 0) return Order::kLess;
  return Compare3(static_cast<uint64_t>(x), y);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Order CompareNumbers(const Number& a, const Number& b) noexcept {
  using Kind = Number::Kind;
  switch (a.kind) {
    case Kind::kInt64:
      switch (b.kind) {
        case Kind::kInt64: return Compare3(a.i, b.i);
        case Kind::kUint64: return CompareInt64WithUint64(a.i, b.u);
        case Kind::kDouble: return CompareInt64WithDouble(a.i, b.d);
      }
      break;
    case Kind::kUint64:
      switch (b.kind) {
        case Kind::kInt64: return Reverse(CompareInt64WithUint64(b.i, a.u));
        case Kind::kUint64: return Compare3(a.u, b.u);
        case Kind::kDouble: return CompareUint64WithDouble(a.u, b.d);
      }
      break;
    case Kind::kDouble:
      switch (b.kind) {
        case Kind::kInt64: return Reverse(CompareInt64WithDouble(b.i, a.d));
        case Kind::kUint64: return Reverse(CompareUint64WithDouble(b.u, a.d));
        case Kind::kDouble:
          if (std::isnan(a.d) || std::isnan(b.d)) return Order::kUnordered;
          return Compare3(a.d, b.d);
      }
      break;
  }
  return Order::kUnordered;
}

bool ParseDecimalString(std::string_view text, Number* out) noexcept {
  size_t i = 0;
  const size_t n = text.size();
  bool negative = false;
  if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const size_t int_begin = i;
  while (i < n && IsDigit(text[i])) ++i;
  const size_t int_end = i;
  size_t frac_begin = i;
  size_t frac_end = i;
  bool has_point = false;
  if (i < n && text[i] == '.') {
    has_point = true;
    frac_begin = ++i;
    while (i < n && IsDigit(text[i])) ++i;
    frac_end = i;
  }
  if (int_end == int_begin && frac_end == frac_begin) return false;
  bool has_exponent = false;
  int64_t exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    has_exponent = true;
    ++i;
    bool exponent_negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    const size_t exp_begin = i;
    while (i < n && IsDigit(text[i])) {
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) return false;
    if (exponent_negative) exponent = -exponent;
  }
  if (i != n) return false;

  // std::from_chars takes no leading '+'.
  const char* first = text.data() + (text[0] == '+' ? 1 : 0);
  const char* last = text.data() + n;
  if (!has_point && !has_exponent) {
    int64_t value = 0;
    auto result = std::from_chars(first, last, value);
    if (result.ec == std::errc() && result.ptr == last) {
      *out = Number::Int64(value);
      return true;
    }
    if (!negative) {
      uint64_t unsigned_value = 0;
      result = std::from_chars(first, last, unsigned_value);
      if (result.ec == std::errc() && result.ptr == last) {
        *out = Number::Uint64(unsigned_value);
        return true;
      }
    }
  }
  double value = 0;
  const auto result = std::from_chars(first, last, value, std::chars_format::general);
  if (result.ec == std::errc() && result.ptr == last) {
    *out = Number::Double(value);
    return true;
  }
  if (result.ec != std::errc::result_out_of_range) return false;
  // Out of range: decide overflow vs underflow from the decimal magnitude.
  int64_t magnitude = 0;  // position of the first significant digit relative to the point
  size_t k = int_begin;
  while (k < int_end && text[k] == '0') ++k;
  if (k < int_end) {
    magnitude = static_cast<int64_t>(int_end - k);
  } else {
    size_t zeros = 0;
    for (k = frac_begin; k < frac_end && text[k] == '0'; ++k) ++zeros;
    magnitude = -static_cast<int64_t>(zeros);
  }
  const bool overflow = magnitude + exponent > 0;
  const double infinity = std::numeric_limits<double>::infinity();
  *out = Number::Double(overflow ? (negative ? -infinity : infinity) : (negative ? -0.0 : 0.0));
  return true;
}

}  // namespace sb::rql::internal
