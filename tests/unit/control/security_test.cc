#include "engine/security.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policy/ditto_policy.h"
#include "tests/support/allocation_counter.h"

namespace sb::control {
namespace {

using policy::IotAction;

policy::IamPolicyDocument ParseIam(std::string_view json) {
  policy::Result<policy::IamPolicyDocument> parsed = policy::ParseIamPolicy(json);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? std::move(parsed).value() : policy::IamPolicyDocument{};
}

bool Allowed(const Principal& principal, IotAction action, std::string_view resource) {
  return principal.iam.IsAllowed(policy::IamRequest{action, resource, "", "", std::nullopt});
}

constexpr std::string_view kPublishA =
    R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/a"}]})";
constexpr std::string_view kConnectAny =
    R"({"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"client/*"}]})";

// A decision reads `iam` and `admin`; checking an HTTP request's credentials reads
// password_hash's pointer and size just before. They are meant to share the record's first
// cache line (see Principal), so the decision's line is already cached.
TEST(BuildPrincipalTest, DecisionAndCredentialFieldsShareTheFirstCacheLine) {
  auto principal = BuildPrincipal("alice", "hash", {}, {}, {}, false);
  const auto* start = reinterpret_cast<const char*>(principal.get());
  const auto offset = [start](const void* field) {
    return static_cast<std::size_t>(static_cast<const char*>(field) - start);
  };
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(start) % 64, 0u);
  EXPECT_LE(offset(&principal->iam) + sizeof(principal->iam), 64u);
  EXPECT_LT(offset(&principal->admin), 64u);
  // libstdc++'s std::string starts with its data pointer and size (16 bytes).
  EXPECT_LE(offset(&principal->password_hash) + 16, 64u);
}

TEST(BuildPrincipalTest, SubjectsStartWithBasicAndDropDuplicates) {
  const std::vector<std::string> extras = {"google:alice", "basic:alice", "google:alice", "team:x"};
  auto principal = BuildPrincipal("alice", "hash", extras, {}, {}, false);
  EXPECT_EQ(principal->name, "alice");
  EXPECT_EQ(principal->password_hash, "hash");
  EXPECT_EQ(principal->subjects,
            (std::vector<std::string>{"basic:alice", "google:alice", "team:x"}));
  ASSERT_EQ(principal->subject_views.size(), principal->subjects.size());
  for (size_t i = 0; i < principal->subjects.size(); ++i) {
    EXPECT_EQ(principal->subject_views[i], principal->subjects[i]);
    EXPECT_EQ(principal->subject_views[i].data(), principal->subjects[i].data());
  }
  const auto extra = principal->extra_subjects();
  EXPECT_EQ(std::vector<std::string>(extra.begin(), extra.end()),
            (std::vector<std::string>{"google:alice", "team:x"}));
  EXPECT_FALSE(principal->admin);
}

TEST(BuildPrincipalTest, PoolsEveryAttachedDocument) {
  const auto publish = policy::CompiledIamDocument::CompileShared(ParseIam(kPublishA));
  const auto connect = policy::CompiledIamDocument::CompileShared(ParseIam(kConnectAny));
  auto principal = BuildPrincipal("dev", "", {}, {"publish", "connect"}, {publish, connect}, false);
  EXPECT_TRUE(Allowed(*principal, IotAction::kPublish, "topic/a"));
  EXPECT_FALSE(Allowed(*principal, IotAction::kPublish, "topic/b"));
  EXPECT_TRUE(Allowed(*principal, IotAction::kConnect, "client/dev"));
  EXPECT_FALSE(Allowed(*principal, IotAction::kReceive, "topic/a"));
  EXPECT_EQ(principal->iot_policy_names, (std::vector<std::string>{"publish", "connect"}));

  auto nothing = BuildPrincipal("dev", "", {}, {}, {}, false);
  EXPECT_FALSE(Allowed(*nothing, IotAction::kConnect, "client/dev"));
}

TEST(BuildPrincipalTest, SharesTheCompiledDocumentsInsteadOfCopyingThem) {
  auto publish = policy::CompiledIamDocument::CompileShared(ParseIam(kPublishA));
  const policy::CompiledIamDocument* compiled = publish.get();
  auto first = BuildPrincipal("one", "", {}, {"publish"}, {publish}, false);
  auto second = BuildPrincipal("two", "", {}, {"publish"}, {publish}, false);
  EXPECT_TRUE(first->iam.References(*compiled));
  EXPECT_TRUE(second->iam.SharesDocumentsWith(first->iam));
  EXPECT_EQ(first->iam.MemoryBytes(), compiled->MemoryBytes());
  // The principals keep the compiled block alive on their own (the control plane drops its
  // compilation when the policy changes, while old snapshots still decide with it).
  publish.reset();
  EXPECT_TRUE(Allowed(*first, IotAction::kPublish, "topic/a"));
  first.reset();
  EXPECT_TRUE(Allowed(*second, IotAction::kPublish, "topic/a"));
  EXPECT_FALSE(Allowed(*second, IotAction::kPublish, "topic/b"));
}

TEST(BuildPrincipalTest, AdminIsAllowedEverything) {
  auto admin = BuildPrincipal("admin", "", {}, {}, {}, true);
  EXPECT_TRUE(admin->admin);
  EXPECT_TRUE(Allowed(*admin, IotAction::kConnect, "client/any"));
  EXPECT_TRUE(Allowed(*admin, IotAction::kSendDirectMessage, "client/any"));
  EXPECT_TRUE(Allowed(*admin, IotAction::kSubscribe, "topicfilter/#"));
  // Whatever is attached: the allow-all document replaces it.
  const auto deny_all = policy::CompiledIamDocument::CompileShared(
      ParseIam(R"({"Statement":[{"Effect":"Deny","Action":"iot:*","Resource":"*"}]})"));
  auto attached = BuildPrincipal("admin", "", {}, {"deny"}, {deny_all}, true);
  EXPECT_TRUE(Allowed(*attached, IotAction::kPublish, "topic/a"));
  EXPECT_FALSE(attached->iam.References(*deny_all));
  EXPECT_TRUE(attached->iam.References(*AllowAllIamDocument()));
  EXPECT_TRUE(BuildAnonymousPrincipal()->iam.References(*AllowAllIamDocument()));
}

TEST(AnonymousPrincipalTest, AllowAllIamAndOnlyTheAnonymousSubject) {
  auto anonymous = BuildAnonymousPrincipal();
  EXPECT_EQ(anonymous->name, "");
  EXPECT_EQ(anonymous->subjects, std::vector<std::string>{std::string(kAnonymousSubject)});
  ASSERT_EQ(anonymous->subject_views.size(), 1u);
  EXPECT_EQ(anonymous->subject_views[0], kAnonymousSubject);
  EXPECT_EQ(anonymous->extra_subjects().size(), 1u);
  EXPECT_FALSE(anonymous->admin);
  for (IotAction action : {IotAction::kConnect, IotAction::kSendDirectMessage}) {
    EXPECT_TRUE(Allowed(*anonymous, action, "client/x"));
  }
  for (IotAction action : {IotAction::kPublish, IotAction::kReceive}) {
    EXPECT_TRUE(Allowed(*anonymous, action, "topic/a/b"));
  }
  EXPECT_TRUE(Allowed(*anonymous, IotAction::kSubscribe, "topicfilter/a/#"));
}

// A snapshot with one principal, one policy and one Thing; `references` holders.
SecurityTables SmallTables() {
  auto principals = std::make_shared<PrincipalTable>();
  (*principals)["alice"] = BuildPrincipal("alice", "", {}, {}, {}, false);
  auto policies = std::make_shared<DittoPolicyTable>();
  auto stored = std::make_shared<StoredDittoPolicy>();
  stored->id = "ns:pol";
  stored->document =
      R"({"policyId":"ns:pol","entries":{"o":{"subjects":{"basic:alice":{"type":"t"}},"resources":{"thing:/":{"grant":["READ"],"revoke":[]}}}}})";
  auto parsed = policy::ParseDittoPolicy(stored->document);
  EXPECT_TRUE(parsed.ok());
  stored->compiled = policy::CompiledDittoPolicy::Compile(parsed.value());
  (*policies)["ns:pol"] = stored;
  auto things = std::make_shared<ThingTable>();
  auto thing = std::make_shared<Thing>();
  thing->id = "ns:lamp";
  thing->policy_id = "ns:pol";
  thing->json = R"({"thingId":"ns:lamp","policyId":"ns:pol"})";
  (*things)["ns:lamp"] = thing;
  return SecurityTables{principals, policies, things, BuildAnonymousPrincipal()};
}

TEST(SecuritySnapshotTest, Lookups) {
  const SecuritySnapshot* snapshot = SecuritySnapshot::Create(7, SmallTables(), 1);
  EXPECT_EQ(snapshot->version(), 7u);
  ASSERT_NE(snapshot->FindPrincipal("alice"), nullptr);
  EXPECT_EQ(snapshot->FindPrincipal("alice")->name, "alice");
  EXPECT_EQ(snapshot->FindPrincipal("bob"), nullptr);
  EXPECT_EQ(snapshot->FindPrincipal(""), nullptr);
  EXPECT_EQ(snapshot->FindPrincipalOrAnonymous(""), snapshot->anonymous());
  EXPECT_EQ(snapshot->FindPrincipalOrAnonymous("alice"), snapshot->FindPrincipal("alice"));

  const Thing* thing = snapshot->FindThing("ns:lamp");
  ASSERT_NE(thing, nullptr);
  EXPECT_EQ(thing->policy_id, "ns:pol");
  EXPECT_EQ(snapshot->FindThing("ns:other"), nullptr);

  const policy::CompiledDittoPolicy* policy = snapshot->FindThingPolicy(*thing);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy, snapshot->FindDittoPolicy("ns:pol"));
  EXPECT_TRUE(policy->HasPermissions(snapshot->FindPrincipal("alice")->subject_views, "thing:/",
                                     policy::kReadPermission,
                                     policy::DittoCheckMode::kUnrestricted));
  EXPECT_FALSE(policy->HasPermissions(snapshot->anonymous()->subject_views, "thing:/",
                                      policy::kReadPermission,
                                      policy::DittoCheckMode::kUnrestricted));
  EXPECT_EQ(snapshot->FindDittoPolicy("ns:missing"), nullptr);
  EXPECT_EQ(snapshot->principal_count(), 1u);
  EXPECT_EQ(snapshot->ditto_policy_count(), 1u);
  EXPECT_EQ(snapshot->thing_count(), 1u);
  snapshot->Release();
}

TEST(SecuritySnapshotTest, NullTablesBecomeEmptyAndAnonymousMayBeOff) {
  const SecuritySnapshot* snapshot = SecuritySnapshot::Create(1, SecurityTables{}, 1);
  EXPECT_EQ(snapshot->FindPrincipal("x"), nullptr);
  EXPECT_EQ(snapshot->FindThing("a:b"), nullptr);
  EXPECT_EQ(snapshot->FindDittoPolicy("a:b"), nullptr);
  EXPECT_EQ(snapshot->anonymous(), nullptr);
  EXPECT_EQ(snapshot->FindPrincipalOrAnonymous(""), nullptr);
  snapshot->Release();
}

TEST(SecuritySnapshotTest, LookupsDoNotAllocate) {
  const SecuritySnapshot* snapshot = SecuritySnapshot::Create(1, SmallTables(), 1);
  // Keys longer than the small-string buffer would allocate if a std::string were built.
  const std::string long_name(100, 'x');
  const std::string_view names[] = {"alice", "bob", long_name};
  testing::AllocationScope scope;
  size_t found = 0;
  for (int i = 0; i < 1000; ++i) {
    for (std::string_view name : names) {
      found += snapshot->FindPrincipal(name) != nullptr;
      found += snapshot->FindThing(name) != nullptr;
      found += snapshot->FindDittoPolicy(name) != nullptr;
    }
    found += snapshot->FindThing("ns:lamp") != nullptr;
    found += snapshot->FindDittoPolicy("ns:pol") != nullptr;
    found += snapshot->FindPrincipalOrAnonymous("") != nullptr;
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(found, 4000u);
  snapshot->Release();
}

TEST(SecuritySnapshotTest, LastReleaseDeletesAndSharedPiecesSurvive) {
  SecurityTables tables = SmallTables();
  std::weak_ptr<const ThingTable> things = tables.things;
  std::shared_ptr<const PrincipalTable> kept_principals = tables.principals;  // shared piece
  const SecuritySnapshot* snapshot = SecuritySnapshot::Create(1, std::move(tables), 3);
  EXPECT_EQ(snapshot->references(), 3u);
  snapshot->Release();
  snapshot->Release();
  EXPECT_FALSE(things.expired());  // one holder left
  EXPECT_EQ(snapshot->references(), 1u);
  snapshot->Release();
  EXPECT_TRUE(things.expired());              // deleted with the snapshot
  EXPECT_EQ(kept_principals.use_count(), 1);  // still ours, untouched
  EXPECT_NE(kept_principals->find("alice"), kept_principals->end());
}

TEST(SecuritySnapshotTest, ConcurrentReleaseFromShardsDeletesExactlyOnce) {
  constexpr int kShards = 4;
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    SecurityTables tables = SmallTables();
    std::weak_ptr<const ThingTable> things = tables.things;
    const SecuritySnapshot* snapshot = SecuritySnapshot::Create(round, std::move(tables), kShards);
    std::atomic<int> ready{0};
    std::vector<std::thread> shards;
    for (int s = 0; s < kShards; ++s) {
      shards.emplace_back([&] {
        ready.fetch_add(1);
        while (ready.load() < kShards) std::this_thread::yield();
        // Use the snapshot, then let go of it, like a shard switching to a newer one.
        if (snapshot->FindThing("ns:lamp") == nullptr) std::abort();
        snapshot->Release();
      });
    }
    for (std::thread& shard : shards) shard.join();
    ASSERT_TRUE(things.expired()) << "round " << round;
  }
}

}  // namespace
}  // namespace sb::control
