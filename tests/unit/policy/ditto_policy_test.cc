#include "policy/ditto_policy.h"

#include "policy/internal/bytes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sb::policy {
namespace {

using ::testing::HasSubstr;

void ExpectRejected(std::string_view json, std::string_view code, std::string_view fragment) {
  const Result<DittoPolicyDocument> result = ParseDittoPolicy(json);
  ASSERT_FALSE(result.ok()) << json;
  EXPECT_EQ(result.error().code, code) << result.error().message;
  EXPECT_THAT(result.error().message, HasSubstr(std::string(fragment))) << json;
}

// Wraps a resources object into a one-entry policy.
std::string WithResources(std::string_view resources) {
  return R"({"entries":{"e":{"subjects":{"basic:a":{"type":"password"}},"resources":)" +
         std::string(resources) + "}}}";
}

TEST(ParseDittoPolicy, SpecExample) {
  const Result<DittoPolicyDocument> result = ParseDittoPolicy(R"({
    "policyId":"org.acme:lamp-policy","entries":{"owner":{
      "subjects":{"basic:alice":{"type":"password"}},
      "resources":{"thing:/":{"grant":["READ","WRITE"],"revoke":[]},
                   "message:/":{"grant":["READ","WRITE"],"revoke":[]},
                   "message:/features/secret":{"grant":[],"revoke":["READ"]}}}}})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const DittoPolicyDocument& document = result.value();
  EXPECT_EQ(document.policy_id, "org.acme:lamp-policy");
  ASSERT_EQ(document.entries.size(), 1u);
  const DittoPolicyEntry& entry = document.entries[0];
  EXPECT_EQ(entry.label, "owner");
  ASSERT_EQ(entry.subjects.size(), 1u);
  EXPECT_EQ(entry.subjects[0].id, "basic:alice");
  EXPECT_EQ(entry.subjects[0].type, "password");
  ASSERT_EQ(entry.resources.size(), 3u);
  EXPECT_EQ(entry.resources[0].type, DittoResourceType::kThing);
  EXPECT_EQ(entry.resources[0].path, "/");
  EXPECT_EQ(entry.resources[0].grant, kReadPermission | kWritePermission);
  EXPECT_EQ(entry.resources[2].type, DittoResourceType::kMessage);
  EXPECT_EQ(entry.resources[2].path, "/features/secret");
  EXPECT_EQ(entry.resources[2].grant, 0);
  EXPECT_EQ(entry.resources[2].revoke, kReadPermission);
}

TEST(ParseDittoPolicy, OptionalAndIgnoredParts) {
  const Result<DittoPolicyDocument> result = ParseDittoPolicy(R"({
    "_revision":3,"_created":"2024-01-01T00:00:00Z","entries":{
      "e":{"subjects":{"s:1":{"type":"t","announcement":{"beforeExpiry":"1h"}}},
           "resources":{"thing:/attributes/":{"grant":["READ","EXECUTE"],"revoke":[]},
                        "policy:":{"grant":["WRITE"],"revoke":[]}},
           "importable":"never"}}})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const DittoPolicyDocument& document = result.value();
  EXPECT_EQ(document.policy_id, "");
  const DittoPolicyEntry& entry = document.entries.at(0);
  EXPECT_EQ(entry.resources[0].path, "/attributes");  // trailing slash ignored
  EXPECT_EQ(entry.resources[0].grant, kReadPermission);  // EXECUTE accepted, ignored
  EXPECT_EQ(entry.resources[1].type, DittoResourceType::kPolicy);
  EXPECT_EQ(entry.resources[1].path, "/");  // "policy:" is the root
}

TEST(ParseDittoPolicy, EmptyEntriesAreValid) {
  const Result<DittoPolicyDocument> result = ParseDittoPolicy(R"({"entries":{}})");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value().entries.empty());
}

TEST(ParseDittoPolicy, RejectsMalformedDocuments) {
  ExpectRejected("{\"entries\":", kDittoJsonInvalid, "invalid JSON");
  ExpectRejected("[]", kDittoPolicyInvalid, "must be a JSON object");
  ExpectRejected("{}", kDittoPolicyInvalid, "entries is required");
  ExpectRejected(R"({"entries":[]})", kDittoPolicyInvalid, "entries must be an object");
  ExpectRejected(R"({"entries":{},"owner":"x"})", kDittoPolicyInvalid,
                 "unknown top-level field \"owner\"");
  ExpectRejected(R"({"entries":{},"imports":{}})", kDittoPolicyInvalid, "imports");
  ExpectRejected(R"({"entries":{},"entries":{}})", kDittoPolicyInvalid, "twice");
}

TEST(ParseDittoPolicy, RejectsBadPolicyIds) {
  ExpectRejected(R"({"policyId":5,"entries":{}})", kDittoPolicyIdInvalid, "must be a string");
  ExpectRejected(R"({"policyId":"no-colon","entries":{}})", kDittoPolicyIdInvalid,
                 "\"no-colon\"");
  ExpectRejected(R"({"policyId":"1ns:name","entries":{}})", kDittoPolicyIdInvalid, "not valid");
  ExpectRejected(R"({"policyId":"ns:a/b","entries":{}})", kDittoPolicyIdInvalid, "not valid");
  ExpectRejected(R"({"policyId":"ns:","entries":{}})", kDittoPolicyIdInvalid, "not valid");
}

TEST(ParseDittoPolicy, RejectsBadEntries) {
  ExpectRejected(R"({"entries":{"":{"subjects":{},"resources":{}}}})", kDittoLabelInvalid,
                 "label");
  ExpectRejected(R"({"entries":{"e":{"subjects":{}}}})", kDittoPolicyInvalid,
                 "entries[\"e\"].resources is required");
  ExpectRejected(R"({"entries":{"e":{"resources":{}}}})", kDittoPolicyInvalid,
                 "entries[\"e\"].subjects is required");
  ExpectRejected(R"({"entries":{"e":{"subjects":{},"resources":{},"x":1}}})",
                 kDittoPolicyInvalid, "unknown field \"x\"");
  ExpectRejected(R"({"entries":{"e":{"subjects":{"s:1":{}},"resources":{}}}})",
                 kDittoPolicyInvalid, "entries[\"e\"].subjects[\"s:1\"].type is required");
  ExpectRejected(R"({"entries":{"e":{"subjects":{"s:1":{"type":"t","expiry":"2030-01-01"}},
                   "resources":{}}}})",
                 kDittoPolicyInvalid, "expiry is not supported");
  ExpectRejected(R"({"entries":{"e":{"subjects":{"":{"type":"t"}},"resources":{}}}})",
                 kDittoPolicyInvalid, "subject ID \"\"");
  ExpectRejected(R"({"entries":{"e":{"subjects":{},"resources":{},"importable":"maybe"}}})",
                 kDittoPolicyInvalid, "importable");
}

TEST(ParseDittoPolicy, RejectsBadResources) {
  ExpectRejected(WithResources(R"({"feature:/":{"grant":[],"revoke":[]}})"),
                 kDittoPolicyInvalid, "invalid resource \"feature:/\"");
  ExpectRejected(WithResources(R"({"thing:attributes":{"grant":[],"revoke":[]}})"),
                 kDittoPolicyInvalid, "invalid resource");
  ExpectRejected(WithResources(R"({"thing:/a//b":{"grant":[],"revoke":[]}})"),
                 kDittoPolicyInvalid, "invalid resource");
  ExpectRejected(WithResources(R"({"thing:/":{"grant":["READ"]}})"), kDittoPolicyInvalid,
                 ".revoke is required");
  ExpectRejected(WithResources(R"({"thing:/":{"grant":["read"],"revoke":[]}})"),
                 kDittoPolicyInvalid, "unknown permission \"read\"");
  ExpectRejected(WithResources(R"({"thing:/":{"grant":"READ","revoke":[]}})"),
                 kDittoPolicyInvalid, "must be a list of permissions");
  ExpectRejected(WithResources(R"({"thing:/a":{"grant":[],"revoke":[]},
                                   "thing:/a/":{"grant":[],"revoke":[]}})"),
                 kDittoPolicyInvalid, "twice");
  ExpectRejected(WithResources(R"({"thing:/":{"grant":[],"revoke":[],"extra":[]}})"),
                 kDittoPolicyInvalid, "unknown field \"extra\"");
}

TEST(ParseDittoPolicy, EnforcesLimits) {
  DittoPolicyLimits limits;
  limits.max_path_segments = 2;
  Result<DittoPolicyDocument> result =
      ParseDittoPolicy(WithResources(R"({"thing:/a/b/c":{"grant":[],"revoke":[]}})"), limits);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("deeper than 2 levels"));

  limits = {};
  limits.max_document_bytes = 10;
  result = ParseDittoPolicy(R"({"entries":{}})", limits);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, kDittoPolicyTooLarge);
}

TEST(ParseDittoResourceKey, AcceptsValidKeysOnly) {
  auto key = ParseDittoResourceKey("message:/features/lamp/inbox/messages/on");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->type, DittoResourceType::kMessage);
  EXPECT_EQ(key->path, "/features/lamp/inbox/messages/on");
  EXPECT_TRUE(ParseDittoResourceKey("thing:/").has_value());
  EXPECT_TRUE(ParseDittoResourceKey("thing:").has_value());
  EXPECT_TRUE(ParseDittoResourceKey("thing:/a/").has_value());
  EXPECT_FALSE(ParseDittoResourceKey("thing").has_value());
  EXPECT_FALSE(ParseDittoResourceKey("things:/").has_value());
  EXPECT_FALSE(ParseDittoResourceKey("thing:a").has_value());
  EXPECT_FALSE(ParseDittoResourceKey("thing://").has_value());
  EXPECT_FALSE(ParseDittoResourceKey("thing:/a\nb").has_value());
  // Control bytes anywhere in long paths (checked eight bytes at a time), UTF-8 allowed.
  const std::string long_path = "thing:/features/lamp/properties/config/brightness";
  EXPECT_TRUE(ParseDittoResourceKey(long_path).has_value());
  EXPECT_TRUE(ParseDittoResourceKey("message:/inbox/messages/\xc3\xa9t\xc3\xa9-caf\xc3\xa9").has_value());
  for (std::size_t at = 7; at < long_path.size(); ++at) {
    for (const char bad : {'\x01', '\x1f', '\x7f', '\0'}) {
      std::string path = long_path;
      path[at] = bad;
      EXPECT_FALSE(ParseDittoResourceKey(path).has_value()) << at << " " << int(bad);
    }
  }
  EXPECT_FALSE(ParseDittoResourceKey("thing:/features/lamp//config").has_value());
  // An empty segment at every offset, including across the eight-byte words.
  for (std::size_t at = 7; at <= long_path.size(); ++at) {
    std::string path(long_path, 0, at);
    path.push_back('/');
    path.append(long_path, at, std::string::npos);
    const bool empty_segment = path.find("//") != std::string::npos;
    EXPECT_EQ(ParseDittoResourceKey(path).has_value(), !empty_segment) << path;
  }
}

TEST(DittoPathSegments, SplitsOnSlashes) {
  DittoPathSegments segments("/a/bc/d/");
  std::string_view segment;
  std::vector<std::string_view> seen;
  while (segments.Next(&segment)) seen.push_back(segment);
  EXPECT_EQ(seen, (std::vector<std::string_view>{"a", "bc", "d"}));
  DittoPathSegments root("/");
  EXPECT_FALSE(root.Next(&segment));
}

// ParseDittoResourceKey validates eight bytes at a time; it must agree with a byte-by-byte
// reading for every length (short paths, the last partial word, several words) and every
// place of a bad byte or an empty segment.
TEST(ParseDittoResourceKey, AgreesWithAByteByByteReadingOfRandomPaths) {
  const auto reference_valid = [](std::string_view path) {
    if (path.empty()) return true;
    if (path.front() != '/') return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const auto c = static_cast<unsigned char>(path[i]);
      if (c < 0x20 || c == 0x7f) return false;
      if (c == '/' && i + 1 < path.size() && path[i + 1] == '/') return false;
    }
    return true;
  };
  std::mt19937 rng(5);
  const char kBytes[] = {'a', 'b', '/', '/', '\x01', '\x1f', '\x7f', ' ', '\xc3', '\xa9'};
  for (int round = 0; round < 20000; ++round) {
    const std::size_t length = std::uniform_int_distribution<std::size_t>(0, 100)(rng);
    std::string path;
    // Every fourth path may hold control bytes and empty segments; the others are valid.
    const bool allow_bad = round % 4 == 0;
    while (path.size() < length) {
      char c = kBytes[std::uniform_int_distribution<int>(0, allow_bad ? 9 : 3)(rng)];
      if (!allow_bad && c == '/' && !path.empty() && path.back() == '/') c = 'a';
      path.push_back(path.empty() ? '/' : c);
    }
    const std::string text = "thing:" + path;  // the key views into it
    const std::optional<DittoResourceKey> key = ParseDittoResourceKey(text);
    ASSERT_EQ(key.has_value(), reference_valid(path)) << testing::PrintToString(path);
  }
}

TEST(InternalBytes, ByteMasksAgreeWithAByteByByteReading) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 100000; ++round) {
    std::uint64_t word = 0;
    std::uint64_t zero = 0;
    unsigned gathered_zero = 0;
    for (int i = 0; i < 8; ++i) {
      // Zero, 0x80, 0x01 and 0xff bytes are the ones a carry between bytes would get wrong.
      static constexpr std::uint8_t kEdgy[] = {0x00, 0x80, 0x01, 0xff, 0x7f};
      const std::uint64_t byte = rng() % 3 == 0 ? kEdgy[rng() % 5] : rng() & 0xff;
      word |= byte << (8 * i);
      if (byte == 0) {
        zero |= std::uint64_t{0x80} << (8 * i);
        gathered_zero |= 1u << i;
      }
    }
    ASSERT_EQ(internal::ZeroBytes(word), zero) << std::hex << word;
    ASSERT_EQ(internal::NonZeroBytes(word), zero ^ internal::kHighBits) << std::hex << word;
    ASSERT_EQ(internal::GatherByteMask(zero), gathered_zero) << std::hex << word;
  }
}

TEST(InternalBytes, LowBytesMaskSetsExactlyTheLowBytes) {
  EXPECT_EQ(internal::LowBytesMask(0), 0u);
  EXPECT_EQ(internal::LowBytesMask(1), 0xffu);
  EXPECT_EQ(internal::LowBytesMask(3), 0xffffffu);
  EXPECT_EQ(internal::LowBytesMask(7), 0x00ffffffffffffffull);
  EXPECT_EQ(internal::LowBytesMask(8), ~std::uint64_t{0});
  EXPECT_EQ(internal::LowBytesMask(16), ~std::uint64_t{0});
}

TEST(InternalBytes, LoadPrefixIsTheZeroPaddedLittleEndianPrefix) {
  const std::string text = "abcdefghijk";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 8); ++i) {
      expected |= std::uint64_t{static_cast<unsigned char>(text[i])} << (8 * i);
    }
    EXPECT_EQ(internal::LoadPrefix(std::string_view(text).substr(0, n)), expected) << n;
  }
  EXPECT_TRUE(internal::BytesEqual("features/x", "features/x"));
  EXPECT_FALSE(internal::BytesEqual("features/x", "features/y"));
  EXPECT_FALSE(internal::BytesEqual("feature", "features"));
}

TEST(IsValidDittoEntityId, FollowsSpecRules) {
  EXPECT_TRUE(IsValidDittoEntityId("org.acme:lamp-1"));
  EXPECT_TRUE(IsValidDittoEntityId(":no-namespace"));
  EXPECT_TRUE(IsValidDittoEntityId("a_b.c-d:x:y"));
  EXPECT_FALSE(IsValidDittoEntityId("org..acme:x"));
  EXPECT_FALSE(IsValidDittoEntityId("org.:x"));
  EXPECT_FALSE(IsValidDittoEntityId("-org:x"));
  EXPECT_FALSE(IsValidDittoEntityId("org:x/y"));
  EXPECT_FALSE(IsValidDittoEntityId("org:x\ty"));
  EXPECT_FALSE(IsValidDittoEntityId("org:" + std::string(300, 'x')));
}

}  // namespace
}  // namespace sb::policy
