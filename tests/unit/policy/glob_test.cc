#include "policy/internal/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace sb::policy::internal {
namespace {

// Tokenizes `pattern` (must succeed) and matches it against `text`.
bool Matches(std::string_view pattern, std::string_view text, bool wildcards = true,
             std::string_view client_id = {}, std::string_view thing_name = {}) {
  std::string arena;
  std::vector<GlobToken> tokens;
  const std::string reason = TokenizePattern(pattern, wildcards, &arena, &tokens);
  EXPECT_EQ(reason, "") << pattern;
  VariableValues variables;
  variables.values[0] = client_id;
  variables.values[1] = thing_name;
  return GlobMatch(tokens, arena, text, variables);
}

TEST(GlobMatch, LiteralIsWholeStringAndCaseSensitive) {
  EXPECT_TRUE(Matches("client/dev1", "client/dev1"));
  EXPECT_FALSE(Matches("client/dev1", "client/Dev1"));
  EXPECT_FALSE(Matches("client/dev1", "client/dev10"));
  EXPECT_FALSE(Matches("client/dev1", "client/dev"));
  EXPECT_TRUE(Matches("", ""));
  EXPECT_FALSE(Matches("", "a"));
}

TEST(GlobMatch, StarMatchesAnyRunIncludingSlashAndEmpty) {
  EXPECT_TRUE(Matches("topic/*", "topic/a/b/c"));
  EXPECT_TRUE(Matches("topic/*", "topic/"));
  EXPECT_FALSE(Matches("topic/a/*", "topic/a"));
  EXPECT_TRUE(Matches("some/*/topic", "some/x/y/topic"));
  EXPECT_TRUE(Matches("*", ""));
  EXPECT_TRUE(Matches("**", "anything/at/all"));
  EXPECT_TRUE(Matches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(Matches("a*b*c", "aXXbYY"));
  EXPECT_TRUE(Matches("*ab", "aab"));  // the star must give back a character
}

TEST(GlobMatch, QuestionMatchesExactlyOneCharacterIncludingSlash) {
  EXPECT_TRUE(Matches("dev?", "dev1"));
  EXPECT_FALSE(Matches("dev?", "dev"));
  EXPECT_FALSE(Matches("dev?", "dev10"));
  EXPECT_TRUE(Matches("a?b", "a/b"));
  EXPECT_TRUE(Matches("*?", "x"));
  EXPECT_FALSE(Matches("*?", ""));
}

TEST(GlobMatch, MqttWildcardsAreLiteral) {
  EXPECT_TRUE(Matches("a/+/c", "a/+/c"));
  EXPECT_FALSE(Matches("a/+/c", "a/b/c"));
  EXPECT_FALSE(Matches("a/#", "a/b"));
}

TEST(GlobMatch, WithoutWildcardsStarAndQuestionAreLiteral) {
  EXPECT_TRUE(Matches("alerts/*", "alerts/*", /*wildcards=*/false));
  EXPECT_FALSE(Matches("alerts/*", "alerts/x", /*wildcards=*/false));
  EXPECT_FALSE(Matches("a?", "ab", /*wildcards=*/false));
}

TEST(GlobMatch, VariablesAreSubstitutedLiterally) {
  EXPECT_TRUE(Matches("client/${iot:ClientId}", "client/dev1", true, "dev1"));
  EXPECT_FALSE(Matches("client/${iot:ClientId}", "client/dev2", true, "dev1"));
  // A client ID of "+" or "*" is literal text, not a wildcard.
  EXPECT_TRUE(Matches("my/${iot:ClientId}/topic", "my/+/topic", true, "+"));
  EXPECT_FALSE(Matches("my/${iot:ClientId}/topic", "my/x/topic", true, "*"));
  EXPECT_TRUE(Matches("my/${iot:ClientId}/topic", "my/*/topic", true, "*"));
  EXPECT_TRUE(Matches("t/${iot:Connection.Thing.ThingName}/*", "t/lamp/x", true, "c", "lamp"));
  EXPECT_TRUE(Matches("*${iot:ClientId}", "prefix-dev1", true, "dev1"));
}

TEST(GlobMatch, UnavailableVariableMatchesNothing) {
  EXPECT_FALSE(Matches("client/${iot:ClientId}", "client/", true, ""));
  EXPECT_FALSE(Matches("t/${iot:Connection.Thing.ThingName}*", "t/x", true, "dev1", ""));
}

TEST(GlobMatch, EscapesProduceLiteralCharacters) {
  EXPECT_TRUE(Matches("a${*}b", "a*b"));
  EXPECT_FALSE(Matches("a${*}b", "aXb"));
  EXPECT_TRUE(Matches("a${?}", "a?"));
  EXPECT_FALSE(Matches("a${?}", "ab"));
  EXPECT_TRUE(Matches("cost${$}", "cost$"));
  EXPECT_TRUE(Matches("$x", "$x"));  // a `$` without `{` is plain text
}

TEST(TokenizePattern, RejectsUnknownAndUnterminatedVariables) {
  std::string arena;
  std::vector<GlobToken> tokens;
  EXPECT_NE(TokenizePattern("client/${aws:username}", true, &arena, &tokens).find("aws:username"),
            std::string::npos);
  EXPECT_NE(TokenizePattern("client/${iot:ClientId", true, &arena, &tokens).find("unterminated"),
            std::string::npos);
}

TEST(TokenizePattern, NeverMergesWithTokensOfAnEarlierPattern) {
  // Compiled objects keep every pattern in one shared token array and arena.
  std::string arena;
  std::vector<GlobToken> tokens;
  ASSERT_EQ(TokenizePattern("a*", true, &arena, &tokens), "");
  ASSERT_EQ(TokenizePattern("*b", true, &arena, &tokens), "");
  ASSERT_EQ(tokens.size(), 4u);
  const std::span<const GlobToken> second(tokens.data() + 2, 2);
  EXPECT_EQ(second[0].kind, GlobTokenKind::kAnyRun);
  EXPECT_TRUE(GlobMatch(second, arena, "xxb", VariableValues{}));
  EXPECT_FALSE(GlobMatch(second, arena, "xxa", VariableValues{}));
}

TEST(GlobMatch, PathologicalPatternStaysFast) {
  // Naive backtracking is exponential in the number of stars here; the bounded matcher is
  // O(|text| * |pattern|).
  const std::string pattern = "*a*a*a*a*a*a*a*a*a*a*b";
  const std::string text(4000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Matches(pattern, text));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 500);
}

// GlobMatch against the independent plain-text matcher on random patterns of every shape
// (no variables: SimpleGlobMatch has none).
TEST(GlobMatch, AgreesWithPlainTextMatchingOnRandomPatterns) {
  std::mt19937 rng(11);
  const auto random_text = [&](const char* alphabet, std::size_t alphabet_size, std::size_t max) {
    std::string out;
    for (std::size_t n = std::uniform_int_distribution<std::size_t>(0, max)(rng); n > 0; --n) {
      out.push_back(alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet_size - 1)(rng)]);
    }
    return out;
  };
  std::size_t matched = 0;
  for (int round = 0; round < 20000; ++round) {
    // A literal, a literal and one trailing `*`, or anything (the shapes conditions take).
    std::string pattern = random_text("ab/", 3, 6);
    if (round % 3 == 1) pattern += '*';
    if (round % 3 == 2) pattern += random_text("ab/*?", 5, 6);
    const std::string text = random_text("ab/", 3, 9);
    std::string arena;
    std::vector<GlobToken> tokens;
    ASSERT_EQ(TokenizePattern(pattern, /*wildcards=*/true, &arena, &tokens), "");
    const bool expected = SimpleGlobMatch(pattern, text, /*ignore_case=*/false);
    ASSERT_EQ(GlobMatch(tokens, arena, text, VariableValues{}), expected) << pattern << " " << text;
    matched += expected;
  }
  EXPECT_GT(matched, 1000u);
}

TEST(SimpleGlobMatch, ActionPatterns) {
  EXPECT_TRUE(SimpleGlobMatch("iot:*", "iot:Publish", true));
  EXPECT_TRUE(SimpleGlobMatch("*", "iot:Publish", true));
  EXPECT_TRUE(SimpleGlobMatch("iot:Send*", "iot:SendDirectMessage", true));
  EXPECT_FALSE(SimpleGlobMatch("iot:Pub*", "iot:SendDirectMessage", true));
  EXPECT_TRUE(SimpleGlobMatch("IOT:publish", "iot:Publish", true));
  EXPECT_FALSE(SimpleGlobMatch("IOT:publish", "iot:Publish", false));
  EXPECT_TRUE(SimpleGlobMatch("iot:?ublish", "iot:Publish", true));
}

}  // namespace
}  // namespace sb::policy::internal
