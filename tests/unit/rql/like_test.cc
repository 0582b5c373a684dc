#include "rql/like.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sb::rql {
namespace {

bool Like(std::string_view text, std::string_view pattern) {
  return LikePattern(pattern, false).Matches(text);
}
bool ILike(std::string_view text, std::string_view pattern) {
  return LikePattern(pattern, true).Matches(text);
}

TEST(RqlLike, WholeStringWithStarAndQuestionMark) {
  EXPECT_TRUE(Like("", "*"));
  EXPECT_TRUE(Like("", ""));
  EXPECT_FALSE(Like("a", ""));
  EXPECT_TRUE(Like("foo.bar.baz", "*bar*"));
  EXPECT_FALSE(Like("foo.bar.baz", "bar"));
  EXPECT_TRUE(Like("foo..bar", "foo*"));
  EXPECT_TRUE(Like("foo..bar", "*bar"));
  EXPECT_FALSE(Like("foo..bar", "*baz"));
  EXPECT_TRUE(Like("Thing", "Th?ng"));
  EXPECT_FALSE(Like("Thng", "Th?ng"));
  EXPECT_FALSE(Like("Thiing", "Th?ng"));
  EXPECT_TRUE(Like("a/b/c", "a*c"));
  EXPECT_TRUE(Like("a\nb", "a*b"));  // '*' spans line breaks too
  EXPECT_TRUE(Like("ab", "a**b"));
  EXPECT_TRUE(Like("abc", "***"));
  EXPECT_TRUE(Like("mississippi", "*sip*"));
  EXPECT_TRUE(Like("mississippi", "m*iss*ppi"));
  EXPECT_FALSE(Like("mississippi", "m*iss*ppix"));
  EXPECT_TRUE(Like("abcabd", "*abd"));
  EXPECT_TRUE(Like("x", "?*"));
  EXPECT_FALSE(Like("", "?*"));
}

TEST(RqlLike, EverythingElseIsLiteral) {
  EXPECT_TRUE(Like("a+b", "a+b"));
  EXPECT_FALSE(Like("aab", "a+b"));
  EXPECT_TRUE(Like("a.c", "a.c"));
  EXPECT_FALSE(Like("abc", "a.c"));
  EXPECT_TRUE(Like("[x]^$\\(", "[x]^$\\("));
  EXPECT_FALSE(Like("x", "[x]"));
}

TEST(RqlLike, QuestionMarkIsOneUtf8Character) {
  EXPECT_TRUE(Like("h\xC3\xA4t", "h?t"));          // ä: 2 bytes
  EXPECT_TRUE(Like("\xE2\x82\xAC", "?"));          // €: 3 bytes
  EXPECT_TRUE(Like("\xF0\x9F\x98\x80!", "?!"));    // 😀: 4 bytes
  EXPECT_FALSE(Like("\xF0\x9F\x98\x80", "??"));
  EXPECT_TRUE(Like("x\xC3\xA4\xC3\xA4y", "x*?y"));
  EXPECT_TRUE(Like("\xFF\xFE", "??"));             // invalid bytes count one each
}

TEST(RqlLike, ILikeFoldsAsciiOnly) {
  EXPECT_TRUE(ILike("foo..bar", "*Bar"));
  EXPECT_FALSE(ILike("foo..bar", "foo.bar"));
  EXPECT_TRUE(ILike("THIS-IS-THE-CONTENT", "this-is*"));
  EXPECT_TRUE(ILike("ask", "ASK"));
  EXPECT_FALSE(Like("ask", "ASK"));
  EXPECT_FALSE(ILike("\xC3\xA4", "\xC3\x84"));  // ä vs Ä: not folded (as in Ditto)
  EXPECT_TRUE(ILike("\xC3\xA4X", "\xC3\xA4x"));
}

TEST(RqlLike, NoExponentialBacktracking) {
  const std::string text(20000, 'a');
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "a*";
  pattern += "b";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Like(text, pattern));
  EXPECT_TRUE(Like(text + "b", pattern));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace sb::rql
