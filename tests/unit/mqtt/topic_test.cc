#include "net/mqtt/topic.h"

#include <gtest/gtest.h>

#include <string>

#include "net/mqtt/utf8.h"

namespace sb::mqtt {
namespace {

constexpr TopicLimits kProductLimits{.max_bytes = 256, .max_levels = 8};

// ---------------------------------------------------------------------------------------
// UTF-8

TEST(Utf8Test, AcceptsWellFormedText) {
  for (const std::string_view text : {
           std::string_view(""),
           std::string_view("plain/ascii/topic/longer-than-eight-bytes"),
           std::string_view("\x01\x1F\x7F"),      // control characters are allowed
           std::string_view("caf\xC3\xA9"),       // U+00E9
           std::string_view("\xE2\x82\xAC"),      // U+20AC
           std::string_view("\xEF\xBF\xBF"),      // U+FFFF (a non-character, allowed)
           std::string_view("\xED\x9F\xBF"),      // U+D7FF, just below surrogates
           std::string_view("\xEE\x80\x80"),      // U+E000, just above surrogates
           std::string_view("\xF0\x9D\x84\x9E"),  // U+1D11E
           std::string_view("\xF4\x8F\xBF\xBF"),  // U+10FFFF
           std::string_view("abcdefgh\xC3\xA9"
                            "abcdefghijklmnop"),
       }) {
    EXPECT_TRUE(IsValidMqttUtf8(text)) << text;
  }
}

TEST(Utf8Test, RejectsMalformedTextAndNul) {
  const std::string_view bad[] = {
      std::string_view("\0", 1),
      std::string_view("\xC0\x80"),          // overlong U+0000
      std::string_view("\xC1\xBF"),          // overlong
      std::string_view("\xE0\x80\xAF"),      // overlong '/'
      std::string_view("\xF0\x80\x80\xAF"),  // overlong '/'
      std::string_view("\xED\xA0\x80"),      // U+D800 (surrogate)
      std::string_view("\xED\xBF\xBF"),      // U+DFFF (surrogate)
      std::string_view("\xF4\x90\x80\x80"),  // above U+10FFFF
      std::string_view("\xF5\x80\x80\x80"),
      std::string_view("\xFF"),
      std::string_view("\x80"),      // lone continuation
      std::string_view("\xE2\x82"),  // truncated
      std::string_view("\xC3\x28"),  // bad continuation
      std::string_view("\xE2\x28\xA1"),
      std::string_view("\xF0\x9D\x84\x28"),
  };
  for (const std::string_view text : bad)
    EXPECT_FALSE(IsValidMqttUtf8(text)) << ::testing::PrintToString(text);
}

TEST(Utf8Test, FindsNulAtEveryPositionOfTheAsciiFastPath) {
  for (size_t length = 1; length <= 24; ++length) {
    for (size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      text[at] = '\0';
      EXPECT_FALSE(IsValidMqttUtf8(text)) << length << " " << at;
      text[at] = '\x80';
      EXPECT_FALSE(IsValidMqttUtf8(text)) << length << " " << at;
    }
    EXPECT_TRUE(IsValidMqttUtf8(std::string(length, 'a')));
  }
}

// ---------------------------------------------------------------------------------------
// Validation

TEST(TopicNameTest, Validation) {
  struct Case {
    std::string_view name;
    bool valid;
  };
  const Case cases[] = {
      {"sport/tennis/player1", true},
      {"/", true},
      {"a//b", true},
      {"/finance", true},
      {"$SYS/broker/load", true},
      {"a b", true},
      {"", false},
      {"a/+", false},
      {"+", false},
      {"#", false},
      {"sport/tennis#", false},
      {"a+b", false},
      {std::string_view("a\0b", 3), false},
      {"\xC3\x28", false},
  };
  for (const Case& c : cases) {
    const Status status = ValidateTopicName(c.name);
    EXPECT_EQ(status.ok(), c.valid) << c.name;
    if (!c.valid) {
      EXPECT_EQ(status.reason, ReasonCode::kTopicNameInvalid) << c.name;
    }
  }
}

TEST(TopicNameTest, Limits) {
  EXPECT_TRUE(ValidateTopicName(std::string(65535, 'a')).ok());
  EXPECT_FALSE(ValidateTopicName(std::string(65536, 'a')).ok());
  EXPECT_TRUE(ValidateTopicName(std::string(256, 'a'), kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicName(std::string(257, 'a'), kProductLimits).ok());
  EXPECT_TRUE(ValidateTopicName("1/2/3/4/5/6/7/8", kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicName("1/2/3/4/5/6/7/8/9", kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicName("1/2/3/4/5/6/7/8/", kProductLimits).ok());  // 9 levels
  EXPECT_TRUE(ValidateTopicName("///////", kProductLimits).ok());            // 8 empty levels
}

TEST(TopicFilterTest, Validation) {
  struct Case {
    std::string_view filter;
    bool valid;
  };
  const Case cases[] = {
      // MQTT 4.7.1 examples.
      {"sport/tennis/player1/#", true},
      {"sport/#", true},
      {"#", true},
      {"sport/tennis#", false},
      {"sport/tennis/#/ranking", false},
      {"+", true},
      {"+/tennis/#", true},
      {"sport+", false},
      {"sport/+/player1", true},
      {"/+", true},
      {"+/+", true},
      // More.
      {"a/b", true},
      {"$SYS/#", true},
      {"$share/group/a/b", true},
      {"a//+//#", true},
      {"", false},
      {"##", false},
      {"#/", false},
      {"a/#b", false},
      {"a/++", false},
      {"a/+b", false},
      {"a/b+", false},
      {"+a", false},
      {std::string_view("a/\0", 3), false},
      {"\xFF/#", false},
  };
  for (const Case& c : cases) {
    const Status status = ValidateTopicFilter(c.filter);
    EXPECT_EQ(status.ok(), c.valid) << c.filter;
    if (!c.valid) {
      EXPECT_EQ(status.reason, ReasonCode::kTopicFilterInvalid) << c.filter;
    }
  }
}

TEST(TopicFilterTest, Limits) {
  EXPECT_TRUE(ValidateTopicFilter("+/+/+/+/+/+/+/#", kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicFilter("+/+/+/+/+/+/+/+/#", kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicFilter(std::string(255, 'a') + "#").ok());
  EXPECT_TRUE(ValidateTopicFilter(std::string(254, 'a') + "/#", kProductLimits).ok());
  EXPECT_FALSE(ValidateTopicFilter(std::string(255, 'a') + "/#", kProductLimits).ok());
}

TEST(ClientIdTest, Validation) {
  EXPECT_TRUE(ValidateClientId("dev-1").ok());
  EXPECT_TRUE(ValidateClientId("org.acme:lamp-1").ok());
  EXPECT_TRUE(ValidateClientId("\xE2\x82\xAC").ok());
  EXPECT_TRUE(ValidateClientId(std::string(128, 'x')).ok());
  EXPECT_EQ(ValidateClientId(std::string(129, 'x')).reason, ReasonCode::kClientIdentifierNotValid);
  EXPECT_TRUE(ValidateClientId(std::string(129, 'x'), 200).ok());
  EXPECT_FALSE(ValidateClientId(std::string(11, 'x'), 10).ok());
  EXPECT_EQ(ValidateClientId("").reason, ReasonCode::kClientIdentifierNotValid);
  EXPECT_EQ(ValidateClientId(std::string_view("a\0", 2)).reason,
            ReasonCode::kClientIdentifierNotValid);
  EXPECT_EQ(ValidateClientId("\xC0\xAF").reason, ReasonCode::kClientIdentifierNotValid);
}

TEST(TopicHelpersTest, SharedAndWildcard) {
  EXPECT_TRUE(IsSharedSubscription("$share/g/a/b"));
  EXPECT_FALSE(IsSharedSubscription("$shared/g/a"));
  EXPECT_FALSE(IsSharedSubscription("a/$share/g"));
  EXPECT_TRUE(HasWildcard("a/+/b"));
  EXPECT_TRUE(HasWildcard("#"));
  EXPECT_FALSE(HasWildcard("a/b"));
}

// ---------------------------------------------------------------------------------------
// Matching

struct MatchCase {
  std::string_view filter;
  std::string_view name;
  bool matches;
};

// MQTT 3.1.1 / 5.0 section 4.7 examples first, then edge cases.
const MatchCase kMatchCases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/tennis/player1/#", "sport/tennis/player2", false},
    {"sport/#", "sport", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"#", "$SYS/monitor/Clients", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS", true},
    {"+", "$SYS", false},
    {"#", "$", false},
    {"a/+", "a/$b", true},  // the '$' rule is only about the first level
    {"a/#", "a/$b", true},
    {"#", "a", true},
    {"#", "/", true},
    {"#", "a/b/c", true},
    {"+", "a", true},
    {"+", "a/b", false},
    {"+/#", "a", true},
    {"+/#", "/", true},
    {"+/#", "a/b/c", true},
    {"a/b", "a/b", true},
    {"a/b", "a/b/", false},
    {"a/b/", "a/b", false},
    {"a/b", "a/bc", false},
    {"a/#", "ab", false},
    {"a/#", "a/", true},
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"a/+/b", "a/x/y/b", false},
    {"/#", "/", true},
    {"/#", "a", false},
    {"ACCOUNTS", "Accounts", false},
    {"+/+/+", "a/b", false},
    {"a/b/c/#", "a/b", false},
};

TEST(TopicMatchesTest, Table) {
  for (const MatchCase& c : kMatchCases) {
    EXPECT_EQ(TopicMatches(c.filter, c.name), c.matches) << c.filter << " vs " << c.name;
  }
}

}  // namespace
}  // namespace sb::mqtt
