#include "engine/routing.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sb::engine {
namespace {

TEST(RoutingTest, OwnerShardIsStableAndSpread) {
  EXPECT_EQ(OwnerShard("dev1", 4), OwnerShard("dev1", 4));
  // IDs are appended, not built as `"d" + std::to_string(i)`, which GCC 12 warns about
  // falsely (-Wrestrict).
  const auto id = [](const char* prefix, int i) { return std::string(prefix).append(std::to_string(i)); };
  std::set<uint16_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(OwnerShard(id("device-", i), 4));
  EXPECT_EQ(seen.size(), 4u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(OwnerShard(id("d", i), 1), 0);
}

TEST(RoutingTest, InterestTransitionsAndShardMask) {
  Routing routing;
  auto* a = reinterpret_cast<Session*>(0x10);
  auto* b = reinterpret_cast<Session*>(0x20);
  EXPECT_TRUE(routing.Subscribe("sensors/+/temp", {a, 1, false}));
  EXPECT_FALSE(routing.Subscribe("sensors/+/temp", {b, 0, false})) << "second subscriber: no new interest";
  EXPECT_FALSE(routing.Unsubscribe("sensors/+/temp", a));
  EXPECT_TRUE(routing.Unsubscribe("sensors/+/temp", b)) << "last subscriber gone";

  routing.SetInterest("a/#", 1, true);
  routing.SetInterest("a/b", 3, true);
  EXPECT_EQ(routing.InterestedShards("a/b"), (1u << 1) | (1u << 3));
  EXPECT_EQ(routing.InterestedShards("a/c"), 1u << 1);
  EXPECT_EQ(routing.InterestedShards("b"), 0u);
  routing.SetInterest("a/#", 1, false);
  EXPECT_EQ(routing.InterestedShards("a/c"), 0u);
}

}  // namespace
}  // namespace sb::engine
