#include "rql/internal/number.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sb::rql::internal {
namespace {

Order Cmp(Number a, Number b) { return CompareNumbers(a, b); }

TEST(RqlNumber, ComparesExactlyAcrossKinds) {
  EXPECT_EQ(Cmp(Number::Int64(7), Number::Double(7.0)), Order::kEqual);
  EXPECT_EQ(Cmp(Number::Double(7.0), Number::Int64(7)), Order::kEqual);
  EXPECT_EQ(Cmp(Number::Int64(42), Number::Double(37.800000000000004)), Order::kGreater);
  EXPECT_EQ(Cmp(Number::Int64(7), Number::Double(7.5)), Order::kLess);
  EXPECT_EQ(Cmp(Number::Int64(-7), Number::Double(-7.5)), Order::kGreater);
  EXPECT_EQ(Cmp(Number::Int64(INT64_MAX), Number::Int64(INT64_MAX - 1)), Order::kGreater);
  // A double conversion would merge these two.
  EXPECT_EQ(Cmp(Number::Int64(INT64_MAX), Number::Double(9223372036854775807.0)), Order::kLess);
  EXPECT_EQ(Cmp(Number::Int64((1LL << 53) + 1), Number::Double(9007199254740992.0)),
            Order::kGreater);
  EXPECT_EQ(Cmp(Number::Uint64(UINT64_MAX), Number::Int64(INT64_MAX)), Order::kGreater);
  EXPECT_EQ(Cmp(Number::Int64(-1), Number::Uint64(UINT64_MAX)), Order::kLess);
  EXPECT_EQ(Cmp(Number::Uint64(1ULL << 63), Number::Double(9223372036854775808.0)),
            Order::kEqual);
  EXPECT_EQ(Cmp(Number::Uint64(UINT64_MAX), Number::Double(1e30)), Order::kLess);
  EXPECT_EQ(Cmp(Number::Int64(0), Number::Double(-0.0)), Order::kEqual);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(Cmp(Number::Int64(INT64_MIN), Number::Double(-inf)), Order::kGreater);
  EXPECT_EQ(Cmp(Number::Double(inf), Number::Double(inf)), Order::kEqual);
  EXPECT_EQ(Cmp(Number::Double(NAN), Number::Int64(1)), Order::kUnordered);
}

TEST(RqlNumber, ParsesBigDecimalSyntax) {
  Number n;
  ASSERT_TRUE(ParseDecimalString("41", &n));
  EXPECT_EQ(n.kind, Number::Kind::kInt64);
  EXPECT_EQ(n.i, 41);
  ASSERT_TRUE(ParseDecimalString("+41", &n));
  EXPECT_EQ(n.i, 41);
  ASSERT_TRUE(ParseDecimalString("-9223372036854775808", &n));
  EXPECT_EQ(n.i, INT64_MIN);
  ASSERT_TRUE(ParseDecimalString("18446744073709551615", &n));
  EXPECT_EQ(n.kind, Number::Kind::kUint64);
  ASSERT_TRUE(ParseDecimalString("99999999999999999999", &n));
  EXPECT_EQ(n.kind, Number::Kind::kDouble);
  for (const char* text : {"21.26", ".5", "5.", "1e3", "1E+3", "-2.5e-3", "0.0"}) {
    ASSERT_TRUE(ParseDecimalString(text, &n)) << text;
    EXPECT_EQ(n.kind, Number::Kind::kDouble) << text;
  }
  ASSERT_TRUE(ParseDecimalString("1e999", &n));
  EXPECT_TRUE(std::isinf(n.d) && n.d > 0);
  ASSERT_TRUE(ParseDecimalString("-1e-999", &n));
  EXPECT_EQ(n.d, 0.0);
  for (const char* text : {"", "+", "-", ".", "e5", "1e", "1e+", " 1", "1 ", "0x10", "NaN",
                           "Infinity", "1.2.3", "1,5", "--1", "abc"}) {
    EXPECT_FALSE(ParseDecimalString(text, &n)) << text;
  }
}

}  // namespace
}  // namespace sb::rql::internal
