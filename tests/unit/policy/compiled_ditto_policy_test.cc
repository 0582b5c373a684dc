#include "policy/compiled_ditto_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "policy/ditto_policy.h"

namespace sb::policy {
namespace {

CompiledDittoPolicy CompileJson(std::string_view json) {
  Result<DittoPolicyDocument> result = ParseDittoPolicy(json);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? CompiledDittoPolicy::Compile(result.value()) : CompiledDittoPolicy();
}

bool Check(const CompiledDittoPolicy& policy, std::vector<std::string_view> subjects,
           std::string_view resource, DittoPermissionSet permissions,
           DittoCheckMode mode = DittoCheckMode::kUnrestricted) {
  return policy.HasPermissions(subjects, resource, permissions, mode);
}

std::vector<std::string> Readers(const CompiledDittoPolicy& policy, std::string_view resource) {
  std::vector<std::string> names;
  policy.ForEachSubjectWithPermission(resource, DittoPermission::kRead,
                                      [&](std::string_view name) { names.emplace_back(name); });
  std::sort(names.begin(), names.end());
  return names;
}

constexpr std::string_view kSpecPolicy = R"({
  "policyId":"org.acme:lamp-policy","entries":{
    "owner":{"subjects":{"basic:alice":{"type":"password"}},
      "resources":{"thing:/":{"grant":["READ","WRITE"],"revoke":[]},
                   "message:/":{"grant":["READ","WRITE"],"revoke":[]},
                   "message:/features/secret":{"grant":[],"revoke":["READ"]}}},
    "observer":{"subjects":{"basic:bob":{"type":"password"},"basic:carol":{"type":"password"}},
      "resources":{"message:/inbox":{"grant":["READ"],"revoke":[]}}},
    "muted":{"subjects":{"basic:carol":{"type":"password"}},
      "resources":{"message:/inbox/messages/private":{"grant":[],"revoke":["READ"]}}}}})";

TEST(CompiledDittoPolicy, SpecExample) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  EXPECT_EQ(policy.policy_id(), "org.acme:lamp-policy");
  EXPECT_TRUE(Check(policy, {"basic:alice"}, "thing:/attributes/x", kReadPermission | kWritePermission));
  EXPECT_TRUE(Check(policy, {"basic:alice"}, "message:/inbox/messages/turnOff", kWritePermission));
  EXPECT_TRUE(Check(policy, {"basic:alice"}, "message:/features/lamp/inbox/messages/on", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "message:/features/secret/inbox/messages/x", kReadPermission));
  // A revoke below makes the root restricted, but only partially.
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "message:/", kReadPermission));
  EXPECT_TRUE(Check(policy, {"basic:alice"}, "message:/", kReadPermission, DittoCheckMode::kPartial));
  EXPECT_TRUE(Check(policy, {"basic:alice"}, "message:/", kWritePermission));
  EXPECT_FALSE(Check(policy, {"basic:mallory"}, "thing:/", kReadPermission));
  EXPECT_FALSE(Check(policy, {}, "thing:/", kReadPermission));
}

TEST(CompiledDittoPolicy, MessageRules) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  // message:/inbox does not cover feature messages.
  EXPECT_TRUE(Check(policy, {"basic:bob"}, "message:/inbox/messages/a", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:bob"}, "message:/features/f/inbox/messages/a", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:bob"}, "message:/inbox/messages/a", kWritePermission));
  // Subjects (the subject may contain slashes) are path segments like any other.
  EXPECT_TRUE(Check(policy, {"basic:bob"}, "message:/inbox/messages/a/b/c", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:carol"}, "message:/inbox/messages/private", kReadPermission));
  EXPECT_TRUE(Check(policy, {"basic:carol"}, "message:/inbox/messages/public", kReadPermission));
  // thing: grants never apply to message: resources.
  EXPECT_FALSE(Check(policy, {"basic:bob"}, "thing:/inbox", kReadPermission));
}

TEST(CompiledDittoPolicy, PoolingAppliesRevokesOfAnySubject) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  // Bob alone may read private inbox messages; Bob + Carol are pooled and Carol's revoke wins.
  EXPECT_TRUE(Check(policy, {"basic:bob"}, "message:/inbox/messages/private", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:bob", "basic:carol"}, "message:/inbox/messages/private",
                     kReadPermission));
  // Unknown subjects alongside known ones are ignored.
  EXPECT_TRUE(Check(policy, {"nobody:x", "basic:bob"}, "message:/inbox/messages/a", kReadPermission));
}

TEST(CompiledDittoPolicy, EqualDepthRevokeWinsAndDeeperGrantReenables) {
  const CompiledDittoPolicy policy = CompileJson(R"({"entries":{
    "a":{"subjects":{"s:1":{"type":"t"}},"resources":{
      "thing:/x":{"grant":["READ"],"revoke":["READ"]},
      "thing:/y":{"grant":[],"revoke":["READ"]},
      "thing:/y/z":{"grant":["READ"],"revoke":[]},
      "thing:/":{"grant":["READ"],"revoke":[]}}}}})");
  EXPECT_FALSE(Check(policy, {"s:1"}, "thing:/x", kReadPermission));
  EXPECT_FALSE(Check(policy, {"s:1"}, "thing:/x/deeper", kReadPermission));
  EXPECT_FALSE(Check(policy, {"s:1"}, "thing:/y", kReadPermission));
  EXPECT_TRUE(Check(policy, {"s:1"}, "thing:/y/z", kReadPermission));
  EXPECT_TRUE(Check(policy, {"s:1"}, "thing:/y/z/deeper", kReadPermission));
  EXPECT_TRUE(Check(policy, {"s:1"}, "thing:/y", kReadPermission, DittoCheckMode::kPartial));
  EXPECT_TRUE(Check(policy, {"s:1"}, "thing:/other", kReadPermission));
}

TEST(CompiledDittoPolicy, InvalidInputsAreDenied) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "thing:/a//b", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "things:/", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "thing:/", 0));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "thing:/", 0x80));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "policy:/", kReadPermission));  // no policy: grants
  EXPECT_TRUE(policy.SubjectsWithPermission("thing:/a//b", DittoPermission::kRead).empty());
}

TEST(CompiledDittoPolicy, ManySubjectsAreProcessedInBatches) {
  std::string json = R"({"entries":{"many":{"subjects":{)";
  for (int i = 0; i < 40; ++i) {
    if (i != 0) json += ',';
    json += "\"s:";
    json += std::to_string(i);
    json += R"(":{"type":"t"})";
  }
  json += R"(},"resources":{"thing:/":{"grant":["READ"],"revoke":[]}}},
             "deny":{"subjects":{"s:37":{"type":"t"}},
                     "resources":{"thing:/":{"grant":[],"revoke":["READ"]}}}}})";
  const CompiledDittoPolicy policy = CompileJson(json);
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("s:" + std::to_string(i));
  std::vector<std::string_view> subjects(names.begin(), names.end());
  // s:37 sits in the third batch of 16; its revoke must still be pooled.
  EXPECT_FALSE(policy.HasPermissions(subjects, "thing:/", kReadPermission, DittoCheckMode::kUnrestricted));
  subjects.erase(subjects.begin() + 37);
  EXPECT_TRUE(policy.HasPermissions(subjects, "thing:/", kReadPermission, DittoCheckMode::kUnrestricted));
  EXPECT_EQ(policy.subject_count(), 40u);
}

TEST(CompiledDittoPolicy, SubjectsWithPermissionForFanOut) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  // Each subject evaluated alone: Carol's own revoke excludes her, Bob stays.
  EXPECT_EQ(Readers(policy, "message:/inbox/messages/private"),
            (std::vector<std::string>{"basic:alice", "basic:bob"}));
  EXPECT_EQ(Readers(policy, "message:/inbox/messages/hello"),
            (std::vector<std::string>{"basic:alice", "basic:bob", "basic:carol"}));
  EXPECT_EQ(Readers(policy, "message:/features/lamp/outbox/messages/x"),
            (std::vector<std::string>{"basic:alice"}));
  EXPECT_EQ(Readers(policy, "message:/features/secret/outbox/messages/x"),
            std::vector<std::string>{});
  // Unrestricted: the revoke below message:/inbox/messages excludes Carol there.
  EXPECT_EQ(Readers(policy, "message:/inbox/messages"),
            (std::vector<std::string>{"basic:alice", "basic:bob"}));
  EXPECT_EQ(Readers(policy, "policy:/"), std::vector<std::string>{});
}

// "prefix" + number, built without `const char* + std::string&&` (GCC 12 -Wrestrict noise).
std::string Numbered(std::string_view prefix, std::size_t number) {
  std::string out(prefix);
  out += std::to_string(number);
  return out;
}

TEST(CompiledDittoPolicy, TryCompileRejectsWhatTheParserWouldAndCompileFailsClosed) {
  DittoPolicyDocument too_many;
  for (std::size_t e = 0; e <= CompiledDittoPolicy::kMaxEntries; ++e) {
    too_many.entries.push_back({Numbered("e", e),
                                {{Numbered("s:", e), "t"}},
                                {{DittoResourceType::kThing, "/", kReadPermission, 0}}});
  }
  Result<CompiledDittoPolicy> result = CompiledDittoPolicy::TryCompile(too_many);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, kDittoPolicyInvalid);
  const CompiledDittoPolicy closed = CompiledDittoPolicy::Compile(too_many);
  EXPECT_FALSE(Check(closed, {"s:1"}, "thing:/", kReadPermission));

  std::string deep;
  for (std::size_t i = 0; i <= CompiledDittoPolicy::kMaxPathSegments; ++i) deep += "/x";
  DittoPolicyDocument too_deep;
  too_deep.entries.push_back(
      {"e", {{"s:1", "t"}}, {{DittoResourceType::kThing, deep, kReadPermission, 0}}});
  EXPECT_FALSE(CompiledDittoPolicy::TryCompile(too_deep).ok());

  // Entries without subjects never apply and do not count.
  DittoPolicyDocument idle = too_many;
  for (std::size_t e = 1; e < idle.entries.size(); ++e) idle.entries[e].subjects.clear();
  result = CompiledDittoPolicy::TryCompile(idle);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(Check(result.value(), {"s:0"}, "thing:/a", kReadPermission));
  EXPECT_FALSE(Check(result.value(), {"s:1"}, "thing:/a", kReadPermission));
}

TEST(CompiledDittoPolicy, EntriesBeyondOneBitsetWordArePooled) {
  // 200 entries: subject s:i is granted READ on thing:/ by entry i; the last entry revokes
  // READ below /secret for s:199 only.
  DittoPolicyDocument document;
  for (std::size_t e = 0; e < 200; ++e) {
    document.entries.push_back({Numbered("e", e),
                                {{Numbered("s:", e), "t"}},
                                {{DittoResourceType::kThing, "/", kReadPermission, 0}}});
  }
  document.entries.push_back(
      {"deny", {{"s:199", "t"}}, {{DittoResourceType::kThing, "/secret", 0, kReadPermission}}});
  const CompiledDittoPolicy policy = CompiledDittoPolicy::Compile(document);
  EXPECT_TRUE(Check(policy, {"s:0"}, "thing:/secret", kReadPermission));
  EXPECT_TRUE(Check(policy, {"s:130"}, "thing:/secret", kReadPermission));
  EXPECT_FALSE(Check(policy, {"s:199"}, "thing:/secret", kReadPermission));
  EXPECT_FALSE(Check(policy, {"s:0", "s:199"}, "thing:/secret/x", kReadPermission));
  EXPECT_FALSE(Check(policy, {"s:130"}, "thing:/", kReadPermission | kWritePermission));
  std::size_t readers = 0;
  policy.ForEachSubjectWithPermission("thing:/secret", DittoPermission::kRead,
                                      [&](std::string_view) { ++readers; });
  EXPECT_EQ(readers, 199u);
}

TEST(CompiledDittoPolicy, SubjectRangeIsAForwardRange) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  const DittoSubjectRange range =
      policy.SubjectsWithPermission("message:/inbox/messages/hello", DittoPermission::kRead);
  EXPECT_FALSE(range.empty());
  EXPECT_EQ(std::distance(range.begin(), range.end()), 3);
  std::set<std::string_view> names;
  for (auto it = range.begin(); it != range.end(); it++) names.insert(policy.SubjectName(*it));
  EXPECT_EQ(names.size(), 3u);
  EXPECT_TRUE(policy.SubjectsWithPermission("message:/inbox", DittoPermission::kWrite).empty() ==
              false);  // alice
  EXPECT_TRUE(policy.SubjectsWithPermission("policy:/", DittoPermission::kWrite).empty());
  EXPECT_TRUE(CompiledDittoPolicy().SubjectsWithPermission("thing:/", DittoPermission::kRead).empty());
}

TEST(CompiledDittoPolicy, FindSubjectAndNames) {
  const CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  EXPECT_EQ(policy.subject_count(), 3u);
  for (std::uint32_t id = 0; id < policy.subject_count(); ++id) {
    EXPECT_EQ(policy.FindSubject(policy.SubjectName(id)), id);
  }
  EXPECT_FALSE(policy.FindSubject("basic:al").has_value());
  EXPECT_FALSE(policy.FindSubject("").has_value());
  const CompiledDittoPolicy empty;
  EXPECT_FALSE(empty.FindSubject("basic:alice").has_value());
  EXPECT_FALSE(Check(empty, {"basic:alice"}, "thing:/", kReadPermission));
}

TEST(CompiledDittoPolicy, MovedFromPolicyIsEmpty) {
  CompiledDittoPolicy policy = CompileJson(kSpecPolicy);
  CompiledDittoPolicy moved = std::move(policy);
  EXPECT_TRUE(Check(moved, {"basic:alice"}, "thing:/", kReadPermission));
  EXPECT_FALSE(Check(policy, {"basic:alice"}, "thing:/", kReadPermission));  // NOLINT
  EXPECT_EQ(policy.subject_count(), 0u);                                      // NOLINT
}

// ---------------------------------------------------------------------------------------
// Differential test against a direct transcription of Ditto's weighted visitor: every grant
// and revoke of the caller's entries weighted by depth, located above/same/below the path.

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  DittoPathSegments it(path);
  std::string_view segment;
  while (it.Next(&segment)) out.push_back(segment);
  return out;
}

bool ReferenceCheck(const DittoPolicyDocument& document, const std::set<std::string>& subjects,
                    std::string_view resource, DittoPermissionSet permissions,
                    DittoCheckMode mode) {
  const std::optional<DittoResourceKey> key = ParseDittoResourceKey(resource);
  if (!key || permissions == 0) return false;
  const std::vector<std::string_view> target = Segments(key->path);
  for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
    if ((permissions & (1u << p)) == 0) continue;
    std::size_t granted = 0;
    std::size_t revoked = 0;
    for (const DittoPolicyEntry& entry : document.entries) {
      const bool applies = std::any_of(entry.subjects.begin(), entry.subjects.end(),
                                       [&](const DittoSubject& s) { return subjects.count(s.id); });
      if (!applies) continue;
      for (const DittoResourceGrant& grant : entry.resources) {
        if (grant.type != key->type) continue;
        const std::vector<std::string_view> at = Segments(grant.path);
        const std::size_t common = std::min(at.size(), target.size());
        if (!std::equal(at.begin(), at.begin() + common, target.begin())) continue;
        const std::size_t level = at.size() + 1;
        const bool g = grant.grant & (1u << p);
        const bool r = grant.revoke & (1u << p);
        if (at.size() <= target.size()) {  // above or same
          if (g) granted = std::max(granted, level);
          if (r) revoked = std::max(revoked, level);
        } else if (mode == DittoCheckMode::kUnrestricted) {
          if (r) revoked = std::max(revoked, level);
        } else if (g) {
          granted = std::max(granted, level);
        }
      }
    }
    if (granted == 0 || granted <= revoked) return false;
  }
  return true;
}

// Random policy material for the differential tests below, from one seeded generator.
class RandomDitto {
 public:
  explicit RandomDitto(unsigned seed) : rng_(seed) {}

  std::size_t Below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  // "/" followed by 0..max_depth segments of a, b, c ("z", which no policy names, one time
  // in six when allow_unknown); "/" alone for none.
  std::string Path(std::size_t max_depth, bool allow_unknown = false) {
    static constexpr std::string_view kSegments[] = {"a", "b", "c"};
    std::string path;
    for (std::size_t depth = Below(max_depth + 1); depth > 0; --depth) {
      path += '/';
      path += (allow_unknown && Below(6) == 0) ? std::string_view("z") : kSegments[Below(3)];
    }
    return path.empty() ? std::string("/") : path;
  }

  // Random grants on `path`, and one time in three random revokes.
  DittoResourceGrant Grant(DittoResourceType type, std::string path) {
    DittoResourceGrant grant;
    grant.type = type;
    grant.path = std::move(path);
    grant.grant = static_cast<DittoPermissionSet>(Below(4));
    grant.revoke = Below(3) == 0 ? static_cast<DittoPermissionSet>(Below(4)) : 0;
    return grant;
  }

 private:
  std::mt19937 rng_;
};

TEST(CompiledDittoPolicy, AgreesWithWeightedVisitorOnRandomPolicies) {
  RandomDitto random(77);
  auto below = [&](std::size_t n) { return random.Below(n); };
  static constexpr std::string_view kTypes[] = {"thing", "message", "policy"};
  std::size_t trues = 0;
  std::size_t falses = 0;
  for (int round = 0; round < 300; ++round) {
    DittoPolicyDocument document;
    // Most rounds have a few entries (one-byte lanes); the others cover every wider lane
    // (2, 4 and 8 bytes) and, every tenth round, several 64-bit entry words.
    const std::size_t entries = round % 10 == 9   ? 65 + below(100)
                                : round % 10 == 8 ? 33 + below(32)
                                : round % 10 == 7 ? 17 + below(16)
                                : round % 10 == 6 ? 9 + below(8)
                                                  : 1 + below(8);
    for (std::size_t e = 0; e < entries; ++e) {
      DittoPolicyEntry entry;
      entry.label = Numbered("e", e);
      const std::size_t subject_count = 1 + below(3);
      for (std::size_t s = 0; s < subject_count; ++s) {
        entry.subjects.push_back({Numbered("s:", below(6)), "t"});
      }
      const std::size_t resources = 1 + below(4);
      for (std::size_t r = 0; r < resources; ++r) {
        const auto type = static_cast<DittoResourceType>(below(2));  // thing or message
        entry.resources.push_back(random.Grant(type, random.Path(3)));
      }
      document.entries.push_back(std::move(entry));
    }
    const CompiledDittoPolicy policy = CompiledDittoPolicy::Compile(document);
    for (int q = 0; q < 60; ++q) {
      std::set<std::string> subject_set;
      const std::size_t subject_count = below(4);
      for (std::size_t s = 0; s < subject_count; ++s) {
        subject_set.insert(Numbered("s:", below(8)));  // s:6, s:7 are unknown
      }
      const std::vector<std::string> subject_names(subject_set.begin(), subject_set.end());
      const std::vector<std::string_view> subjects(subject_names.begin(), subject_names.end());
      const std::string resource =
          std::string(kTypes[below(3)]) + ":" + random.Path(4, /*allow_unknown=*/true);
      const auto permissions = static_cast<DittoPermissionSet>(1 + below(3));
      const DittoCheckMode mode = below(2) ? DittoCheckMode::kPartial : DittoCheckMode::kUnrestricted;
      const bool expected = ReferenceCheck(document, subject_set, resource, permissions, mode);
      ASSERT_EQ(policy.HasPermissions(subjects, resource, permissions, mode), expected)
          << "round " << round << " resource " << resource << " permissions "
          << int(permissions) << " mode " << int(mode);
      (expected ? trues : falses) += 1;

      // Per-subject precomputed answers against the visitor, one subject at a time.
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        std::vector<std::string> listed;
        policy.ForEachSubjectWithPermission(resource, static_cast<DittoPermission>(p),
                                            [&](std::string_view s) { listed.emplace_back(s); });
        std::sort(listed.begin(), listed.end());
        std::vector<std::string> reference;
        for (int s = 0; s < 8; ++s) {
          const std::string subject = Numbered("s:", s);
          if (ReferenceCheck(document, {subject}, resource, static_cast<DittoPermissionSet>(1u << p),
                             DittoCheckMode::kUnrestricted)) {
            reference.push_back(subject);
          }
        }
        ASSERT_EQ(listed, reference) << "round " << round << " resource " << resource;
      }
    }
  }
  EXPECT_GT(trues, 1000u);
  EXPECT_GT(falses, 1000u);
}

// Fan-out over policies with many subject classes: up to 8 entries (one-byte lanes) shared
// by 20 or 120 subjects in random combinations, so there are more than 8 classes (several
// words of classes evaluated at once) or more than 64 (evaluated one by one).
TEST(CompiledDittoPolicy, FanOutOverManyClassesAgreesWithWeightedVisitor) {
  RandomDitto random(1234);
  auto below = [&](std::size_t n) { return random.Below(n); };
  std::size_t listed_total = 0;
  for (int round = 0; round < 40; ++round) {
    const std::size_t subject_pool = round % 2 == 0 ? 20 : 120;
    DittoPolicyDocument document;
    for (std::size_t e = 0; e < 8; ++e) {
      DittoPolicyEntry entry;
      entry.label = Numbered("e", e);
      for (std::size_t s = 0; s < subject_pool; ++s) {
        if (below(2) == 0) entry.subjects.push_back({Numbered("s:", s), "t"});
      }
      if (entry.subjects.empty()) entry.subjects.push_back({"s:0", "t"});
      for (std::size_t r = 1 + below(3); r > 0; --r) {
        entry.resources.push_back(random.Grant(DittoResourceType::kMessage, random.Path(3)));
      }
      document.entries.push_back(std::move(entry));
    }
    const CompiledDittoPolicy policy = CompiledDittoPolicy::Compile(document);
    for (int q = 0; q < 20; ++q) {
      const std::string resource = "message:" + random.Path(4);
      std::vector<std::string> listed;
      policy.ForEachSubjectWithPermission(resource, DittoPermission::kRead,
                                          [&](std::string_view s) { listed.emplace_back(s); });
      std::sort(listed.begin(), listed.end());
      std::vector<std::string> reference;
      for (std::size_t s = 0; s < subject_pool; ++s) {
        const std::string subject = Numbered("s:", s);
        if (policy.FindSubject(subject) &&
            ReferenceCheck(document, {subject}, resource, kReadPermission,
                           DittoCheckMode::kUnrestricted)) {
          reference.push_back(subject);
        }
      }
      std::sort(reference.begin(), reference.end());
      ASSERT_EQ(listed, reference) << "round " << round << " resource " << resource;
      listed_total += listed.size();
    }
  }
  EXPECT_GT(listed_total, 1000u);  // the policies do grant READ to many subjects
}

}  // namespace
}  // namespace sb::policy
