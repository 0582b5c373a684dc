#include "net/http/encoding.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/allocation_counter.h"

namespace sb::http {
namespace {

std::optional<std::string> Decode(std::string_view in, PlusDecoding plus = PlusDecoding::kKeepPlus) {
  std::string out(in.size(), '\0');
  const auto length = PercentDecode(in, out.data(), out.size(), plus);
  if (!length) return std::nullopt;
  out.resize(*length);
  return out;
}

TEST(PercentDecode, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"plain", "plain"},
      {"a%20b", "a b"},
      {"%41%42%43", "ABC"},
      {"%4a%4A", "JJ"},
      {"%2F%2f", "//"},
      {"%24aws", "$aws"},
      {"%25", "%"},
      {"%2541", "%41"},  // decoded once only
      {"a+b", "a+b"},    // '+' is literal in paths
      {"%E2%82%AC", "\xe2\x82\xac"},
      {std::string("%00", 3), std::string("\0", 1)},
  };
  for (const auto& [in, expected] : cases) {
    const auto decoded = Decode(in);
    ASSERT_TRUE(decoded.has_value()) << in;
    EXPECT_EQ(*decoded, expected) << in;
  }
}

TEST(PercentDecode, PlusAsSpaceForQueryValues) {
  EXPECT_EQ(Decode("a+b+%2B", PlusDecoding::kPlusAsSpace), "a b +");
  EXPECT_EQ(Decode("a%20b", PlusDecoding::kPlusAsSpace), "a b");
  EXPECT_EQ(Decode("a+b", PlusDecoding::kKeepPlus), "a+b");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  for (const char* in : {"%", "%4", "a%", "a%4", "%4g", "%g4", "%%41", "%G1", "% 41", "%-1", "%+1"}) {
    EXPECT_FALSE(Decode(in).has_value()) << in;
    EXPECT_FALSE(Decode(in, PlusDecoding::kPlusAsSpace).has_value()) << in;
  }
}

TEST(PercentDecode, OutputCapacity) {
  char out[3];
  EXPECT_EQ(PercentDecode("%41%42%43", out, 3), 3u);
  EXPECT_EQ(std::string_view(out, 3), "ABC");
  EXPECT_FALSE(PercentDecode("abcd", out, 3).has_value());
  EXPECT_FALSE(PercentDecode("ab%41d", out, 3).has_value());
  EXPECT_EQ(PercentDecode("", nullptr, 0), 0u);
}

TEST(PercentDecode, InPlace) {
  std::string s = "a%2Fb%20c+d";
  const auto length = PercentDecode(s, s.data(), s.size(), PlusDecoding::kPlusAsSpace);
  ASSERT_TRUE(length.has_value());
  EXPECT_EQ(s.substr(0, *length), "a/b c d");
}

std::vector<std::pair<std::string, std::string>> Params(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  ForEachQueryParam(query, [&](std::string_view name, std::string_view value) {
    params.emplace_back(name, value);
  });
  return params;
}

TEST(QueryParams, Iteration) {
  using P = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(Params(""), P{});
  EXPECT_EQ(Params("a=1"), (P{{"a", "1"}}));
  EXPECT_EQ(Params("a=1&b=&c&&d=x=y&=v&"),
            (P{{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "x=y"}, {"", "v"}}));
  EXPECT_EQ(Params("&&&"), P{});
  EXPECT_EQ(Params("topic=a%2Fb&confirmation=true"),
            (P{{"topic", "a%2Fb"}, {"confirmation", "true"}}));  // raw, not decoded
}

TEST(QueryParams, CallbackCanStop) {
  int seen = 0;
  ForEachQueryParam("a=1&b=2&c=3", [&](std::string_view name, std::string_view) {
    ++seen;
    return name != "b";
  });
  EXPECT_EQ(seen, 2);
}

TEST(QueryParams, Find) {
  const std::string_view query = "topic=a%2Fb&confirmation=true&timeout=5&topic=second&flag";
  EXPECT_EQ(FindQueryParam(query, "topic"), "a%2Fb");  // the first occurrence
  EXPECT_EQ(FindQueryParam(query, "confirmation"), "true");
  EXPECT_EQ(FindQueryParam(query, "flag"), "");
  EXPECT_FALSE(FindQueryParam(query, "top").has_value());
  EXPECT_FALSE(FindQueryParam(query, "topics").has_value());
  EXPECT_FALSE(FindQueryParam(query, "contentType").has_value());
  EXPECT_FALSE(FindQueryParam("", "a").has_value());
  // Names are compared after decoding.
  EXPECT_EQ(FindQueryParam("%74opic=x", "topic"), "x");
  EXPECT_EQ(FindQueryParam("a+b=1", "a b"), "1");
  EXPECT_EQ(FindQueryParam("a%2Bb=1", "a+b"), "1");
  EXPECT_FALSE(FindQueryParam("%7=x&topic=y%", "%7").has_value());
  EXPECT_EQ(FindQueryParam("%7=x&topic=y%", "topic"), "y%");  // values are not validated here
}

TEST(QueryNameEquals, Cases) {
  EXPECT_TRUE(QueryNameEquals("", ""));
  EXPECT_TRUE(QueryNameEquals("abc", "abc"));
  EXPECT_FALSE(QueryNameEquals("abc", "ab"));
  EXPECT_FALSE(QueryNameEquals("ab", "abc"));
  EXPECT_TRUE(QueryNameEquals("%61%62c", "abc"));
  EXPECT_FALSE(QueryNameEquals("%6", "%6"));
  EXPECT_FALSE(QueryNameEquals("ABC", "abc"));  // case-sensitive
}

std::optional<std::string> B64Decode(std::string_view in) {
  std::string out(Base64DecodedMaxSize(in.size()), '\0');
  const auto length = Base64Decode(in, out.data(), out.size());
  if (!length) return std::nullopt;
  out.resize(*length);
  return out;
}

std::string B64Encode(std::string_view in) {
  std::string out(Base64EncodedSize(in.size()), '\0');
  const auto length = Base64Encode(in, out.data(), out.size());
  EXPECT_TRUE(length.has_value());
  out.resize(length.value_or(0));
  return out;
}

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(B64Encode(plain), encoded);
    EXPECT_EQ(B64Decode(encoded), plain);
  }
  EXPECT_EQ(B64Decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(B64Encode("\xfb\xff\xbf"), "+/+/");
  // A JSON array of user properties as AWS clients send it.
  EXPECT_EQ(B64Decode("W3siYSI6IjEifV0="), "[{\"a\":\"1\"}]");
}

TEST(Base64, RoundTripsAllBytesAndLengths) {
  std::mt19937 rng(7);
  for (size_t length = 0; length < 200; ++length) {
    std::string data(length, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const std::string encoded = B64Encode(data);
    EXPECT_EQ(encoded.size(), Base64EncodedSize(length));
    EXPECT_EQ(B64Decode(encoded), data) << length;
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(B64Decode(B64Encode(all)), all);
}

TEST(Base64, RejectsInvalid) {
  for (const char* in : {"Zg=", "Zg", "Z", "Zm9", "Z===", "====", "=Zm9", "Zm=v", "Zg==Zg==",
                         "Zm9v\n", "Zm 9v", " Zm9v", "Zm9-", "Zm9_", "Zm9\x80", "Zm9v====",
                         "Zh==", "Zm9=", "Zm8\0"}) {
    EXPECT_FALSE(B64Decode(in).has_value()) << in;
  }
  EXPECT_FALSE(B64Decode(std::string("Zm8\0", 4)).has_value());
}

TEST(Base64, Capacities) {
  EXPECT_EQ(Base64DecodedMaxSize(0), 0u);
  EXPECT_EQ(Base64DecodedMaxSize(4), 3u);
  EXPECT_EQ(Base64DecodedMaxSize(8), 6u);
  EXPECT_EQ(Base64EncodedSize(0), 0u);
  EXPECT_EQ(Base64EncodedSize(1), 4u);
  EXPECT_EQ(Base64EncodedSize(3), 4u);
  EXPECT_EQ(Base64EncodedSize(4), 8u);
  char out[4];
  EXPECT_EQ(Base64Decode("Zm9vYg==", out, 4), 4u);  // the exact size suffices
  EXPECT_FALSE(Base64Decode("Zm9vYmE=", out, 4).has_value());
  EXPECT_FALSE(Base64Encode("fooba", out, 4).has_value());
  EXPECT_EQ(Base64Encode("foo", out, 4), 4u);
}

TEST(Base64, DecodeInPlace) {
  std::string s = "Zm9vYmFyYmF6";
  const auto length = Base64Decode(s, s.data(), s.size());
  ASSERT_TRUE(length.has_value());
  EXPECT_EQ(s.substr(0, *length), "foobarbaz");
}

TEST(ValidUtf8, Table) {
  const std::vector<std::string> valid = {
      "",
      "ascii only",
      "\xc3\xa9",                  // é
      "\xe2\x82\xac",              // €
      "\xf0\x9f\x98\x80",          // 😀
      "\xef\xbf\xbf",              // U+FFFF
      "\xf4\x8f\xbf\xbf",          // U+10FFFF
      "\xed\x9f\xbf",              // U+D7FF, just below the surrogates
      "\xee\x80\x80",              // U+E000, just above them
      std::string("a\0b", 3),      // U+0000 is valid UTF-8 (MQTT rejects it separately)
      "0123456789abcdef\xc3\xa9xyz0123456789",
  };
  for (const std::string& s : valid) EXPECT_TRUE(ValidUtf8(s)) << s;
  const std::vector<std::string> invalid = {
      "\x80",               // lone continuation
      "\xbf",               //
      "\xc0\x80",           // overlong NUL
      "\xc1\xbf",           // overlong
      "\xe0\x80\x80",       // overlong
      "\xe0\x9f\xbf",       // overlong
      "\xf0\x80\x80\x80",   // overlong
      "\xf0\x8f\xbf\xbf",   // overlong
      "\xed\xa0\x80",       // surrogate U+D800
      "\xed\xbf\xbf",       // surrogate U+DFFF
      "\xf4\x90\x80\x80",   // above U+10FFFF
      "\xf5\x80\x80\x80",   //
      "\xff",               //
      "\xfe",               //
      "\xe2\x82",           // truncated
      "\xc3",               //
      "\xc3\x28",           // bad continuation
      "\xe2\x28\xa1",       //
      "\xf0\x9f\x98",       // truncated 4-byte
      "01234567\x80",       // after the 8-byte ASCII fast path
      "0123456789abcdef0123456789abcde\xc3",
  };
  for (const std::string& s : invalid) EXPECT_FALSE(ValidUtf8(s)) << ::testing::PrintToString(s);
}

struct StringSink {
  std::string out;
  void Append(std::string_view bytes) { out.append(bytes); }
};

std::string Escape(std::string_view in) {
  StringSink sink;
  AppendJsonEscaped(sink, in);
  return sink.out;
}

TEST(JsonEscape, Table) {
  EXPECT_EQ(Escape(""), "");
  EXPECT_EQ(Escape("plain text"), "plain text");
  EXPECT_EQ(Escape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(Escape("back\\slash"), "back\\\\slash");
  EXPECT_EQ(Escape("a\nb\rc\td\be\ff"), "a\\nb\\rc\\td\\be\\ff");
  EXPECT_EQ(Escape(std::string("\0\x01\x1f", 3)), "\\u0000\\u0001\\u001f");
  EXPECT_EQ(Escape("\x7f/<>"), "\x7f/<>");
  EXPECT_EQ(Escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(Escape("a\xff" "b"), "a\\ufffdb");
  EXPECT_EQ(Escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // surrogate: each byte replaced
  EXPECT_EQ(Escape("x\xe2\x82"), "x\\ufffd\\ufffd");          // truncated at the end
}

TEST(JsonEscape, OutputIsAlwaysValidUtf8) {
  std::mt19937 rng(99);
  for (int round = 0; round < 500; ++round) {
    std::string input(std::uniform_int_distribution<size_t>(0, 40)(rng), '\0');
    for (char& c : input) c = static_cast<char>(rng());
    const std::string escaped = Escape(input);
    EXPECT_TRUE(ValidUtf8(escaped));
    for (char c : escaped) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  }
}

struct CountingSink {
  size_t bytes = 0;
  void Append(std::string_view piece) { bytes += piece.size(); }
};

TEST(Encoding, DoesNotAllocate) {
  char out[256];
  CountingSink sink;
  testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(PercentDecode("a%2Fb+c", out, sizeof out, PlusDecoding::kPlusAsSpace));
    ASSERT_TRUE(FindQueryParam("x=1&topic=a%2Fb", "topic"));
    ASSERT_TRUE(Base64Decode("Zm9vYmFy", out, sizeof out));
    ASSERT_TRUE(Base64Encode("foobar", out, sizeof out));
    ASSERT_TRUE(ValidUtf8("caf\xc3\xa9"));
    AppendJsonEscaped(sink, "bad \"input\"\n\xff");
  }
  EXPECT_EQ(scope.allocations(), 0u);
}

}  // namespace
}  // namespace sb::http
