// Numbers as RQL compares them: exactly, by value, across int64 / uint64 / double (so 7 equals
// 7.0 and 9223372036854775807 differs from 9223372036854775806, which a plain double
// conversion would merge). Internal to rql/; pure functions, no allocation, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace sb::rql::internal {

// How a field value relates to a filter value. kUnordered: the two cannot be compared
// (different types, NaN); every comparison operator is then false.
enum class Order : uint8_t { kLess, kEqual, kGreater, kUnordered };

struct Number {
  enum class Kind : uint8_t { kInt64, kUint64, kDouble };
  Kind kind = Kind::kInt64;
  int64_t i = 0;   // kInt64
  uint64_t u = 0;  // kUint64 (only values above INT64_MAX)
  double d = 0;    // kDouble

  static Number Int64(int64_t v) { return {Kind::kInt64, v, 0, 0}; }
  static Number Uint64(uint64_t v) { return {Kind::kUint64, 0, v, 0}; }
  static Number Double(double v) { return {Kind::kDouble, 0, 0, v}; }
};

// Order of a relative to b.
Order CompareNumbers(const Number& a, const Number& b) noexcept;

// Reads text written the way java.math.BigDecimal accepts it (Ditto converts a string to a
// number with it): [+-] then digits with an optional '.' (".5" and "5." too), then an optional
// exponent e/E[+-]digits; nothing else, no whitespace. Integers that fit become kInt64 or
// kUint64, the rest the nearest double (overflow gives +-infinity, underflow +-0).
bool ParseDecimalString(std::string_view text, Number* out) noexcept;

}  // namespace sb::rql::internal
