#include "net/mqtt/topic_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "net/mqtt/topic.h"
#include "tests/support/allocation_counter.h"

namespace sb::mqtt {
namespace {

std::vector<int> MatchAll(const TopicTrie<int>& trie, std::string_view topic) {
  std::vector<int> out;
  trie.Match(topic, [&](int value) { out.push_back(value); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TopicTrieTest, InsertAndEraseReportInterestTransitions) {
  TopicTrie<int> trie;
  EXPECT_TRUE(trie.Insert("a/b", 1));   // 0 -> 1: announce interest
  EXPECT_FALSE(trie.Insert("a/b", 2));  // 1 -> 2
  EXPECT_FALSE(trie.Insert("a/b", 2));  // already there
  EXPECT_EQ(trie.CountValues("a/b"), 2u);
  EXPECT_EQ(trie.filter_count(), 1u);

  EXPECT_FALSE(trie.Erase("a/b", 3));  // not there
  EXPECT_FALSE(trie.Erase("a/c", 1));  // no such filter
  EXPECT_FALSE(trie.Erase("a/b", 1));  // 2 -> 1
  EXPECT_TRUE(trie.Erase("a/b", 2));   // 1 -> 0: withdraw interest
  EXPECT_FALSE(trie.Erase("a/b", 2));
  EXPECT_EQ(trie.filter_count(), 0u);
  EXPECT_TRUE(trie.empty());
  EXPECT_TRUE(trie.has_no_nodes());
}

TEST(TopicTrieTest, WildcardFiltersAreDistinctFromLiterals) {
  TopicTrie<int> trie;
  EXPECT_TRUE(trie.Insert("a/+", 1));
  EXPECT_TRUE(trie.Insert("a/#", 2));
  EXPECT_TRUE(trie.Insert("a", 3));
  EXPECT_TRUE(trie.Insert("#", 4));
  EXPECT_TRUE(trie.Insert("+", 5));
  EXPECT_EQ(trie.filter_count(), 5u);
  EXPECT_EQ(trie.CountValues("a/+"), 1u);
  EXPECT_EQ(trie.CountValues("a/#"), 1u);
  EXPECT_EQ(trie.CountValues("a/x"), 0u);
  EXPECT_EQ(trie.CountValues("#"), 1u);
  EXPECT_EQ(trie.CountValues(""), 0u);
}

TEST(TopicTrieTest, MatchFollowsTheSpecExamples) {
  TopicTrie<int> trie;
  trie.Insert("sport/tennis/player1/#", 1);
  trie.Insert("sport/#", 2);
  trie.Insert("sport/tennis/+", 3);
  trie.Insert("sport/+", 4);
  trie.Insert("+/+", 5);
  trie.Insert("/+", 6);
  trie.Insert("+", 7);
  trie.Insert("#", 8);
  trie.Insert("$SYS/#", 9);
  trie.Insert("+/monitor/Clients", 10);
  trie.Insert("$SYS/monitor/+", 11);

  EXPECT_EQ(MatchAll(trie, "sport/tennis/player1"), (std::vector<int>{1, 2, 3, 8}));
  EXPECT_EQ(MatchAll(trie, "sport/tennis/player1/ranking"), (std::vector<int>{1, 2, 8}));
  EXPECT_EQ(MatchAll(trie, "sport"), (std::vector<int>{2, 7, 8}));
  EXPECT_EQ(MatchAll(trie, "sport/"), (std::vector<int>{2, 4, 5, 8}));
  EXPECT_EQ(MatchAll(trie, "/finance"), (std::vector<int>{5, 6, 8}));
  EXPECT_EQ(MatchAll(trie, "$SYS/monitor/Clients"), (std::vector<int>{9, 11}));
  EXPECT_EQ(MatchAll(trie, "$SYS"), (std::vector<int>{9}));
  EXPECT_EQ(MatchAll(trie, "x/monitor/Clients"), (std::vector<int>{8, 10}));
  EXPECT_EQ(MatchAll(trie, ""), (std::vector<int>{}));
}

TEST(TopicTrieTest, ErasePrunesOnlyEmptyBranches) {
  TopicTrie<int> trie;
  trie.Insert("a/b/c", 1);
  trie.Insert("a/+/d", 2);
  trie.Insert("a/b/#", 3);
  trie.Insert("a", 4);

  EXPECT_TRUE(trie.Erase("a/b/c", 1));
  EXPECT_EQ(MatchAll(trie, "a/b/c"), (std::vector<int>{3}));  // a/b still holds a/b/#
  EXPECT_TRUE(trie.Erase("a/b/#", 3));
  EXPECT_EQ(MatchAll(trie, "a/b/d"), (std::vector<int>{2}));
  EXPECT_FALSE(trie.Erase("a/b/#", 3));
  EXPECT_FALSE(trie.Erase("a/b", 4));  // "a/b" was never a filter
  EXPECT_TRUE(trie.Erase("a/+/d", 2));
  EXPECT_FALSE(trie.has_no_nodes());  // "a" still has a value
  EXPECT_EQ(MatchAll(trie, "a"), (std::vector<int>{4}));
  EXPECT_TRUE(trie.Erase("a", 4));
  EXPECT_TRUE(trie.has_no_nodes());
  EXPECT_TRUE(trie.empty());

  // The trie is still usable after full pruning.
  EXPECT_TRUE(trie.Insert("a/b/c", 1));
  EXPECT_EQ(MatchAll(trie, "a/b/c"), (std::vector<int>{1}));
}

// A value = session plus options; a new subscription of the same session replaces the old.
struct SubscriberEntry {
  int session;
  int qos;
};
struct SessionHash {
  size_t operator()(const SubscriberEntry& e) const { return std::hash<int>{}(e.session); }
};
struct SameSession {
  bool operator()(const SubscriberEntry& a, const SubscriberEntry& b) const {
    return a.session == b.session;
  }
};

TEST(TopicTrieTest, EqualValueReplacesTheStoredOne) {
  TopicTrie<SubscriberEntry, SessionHash, SameSession> trie;
  EXPECT_TRUE(trie.Insert("a/+", {1, 0}));
  EXPECT_FALSE(trie.Insert("a/+", {1, 2}));  // resubscribe with QoS 2
  EXPECT_EQ(trie.CountValues("a/+"), 1u);
  std::vector<int> qos;
  trie.Match("a/x", [&](const SubscriberEntry& e) { qos.push_back(e.qos); });
  EXPECT_EQ(qos, std::vector<int>{2});
  EXPECT_TRUE(trie.Erase("a/+", {1, -1}));  // unsubscribe knows only the session
}

TEST(TopicTrieTest, ManyValuesOnOneFilterUseTheIndex) {
  TopicTrie<SubscriberEntry, SessionHash, SameSession> trie;
  constexpr int kCount = 1000;
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(trie.Insert("broadcast/#", {i, 0}), i == 0);
  // Replacement still works once the set is indexed.
  EXPECT_FALSE(trie.Insert("broadcast/#", {500, 1}));
  EXPECT_EQ(trie.CountValues("broadcast/#"), static_cast<size_t>(kCount));

  std::vector<int> order(kCount);
  for (int i = 0; i < kCount; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::set<int> remaining(order.begin(), order.end());
  for (size_t k = 0; k < order.size(); ++k) {
    const int session = order[k];
    EXPECT_EQ(trie.Erase("broadcast/#", {session, 0}), k + 1 == order.size());
    EXPECT_FALSE(trie.Erase("broadcast/#", {session, 0}));
    remaining.erase(session);
    if (k % 97 == 0) {  // the survivors are exactly the ones not erased
      std::set<int> seen;
      int qos_of_500 = -1;
      trie.Match("broadcast/x", [&](const SubscriberEntry& e) {
        seen.insert(e.session);
        if (e.session == 500) qos_of_500 = e.qos;
      });
      EXPECT_EQ(seen, remaining);
      if (remaining.count(500)) {
        EXPECT_EQ(qos_of_500, 1);
      }
    }
  }
  EXPECT_TRUE(trie.has_no_nodes());
}

TEST(TopicTrieTest, WideLevelOfDeviceTopics) {
  TopicTrie<int> trie;
  constexpr int kDevices = 10'000;
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_TRUE(trie.Insert("devices/dev-" + std::to_string(i) + "/cmd", i));
  }
  trie.Insert("devices/+/cmd", -1);
  EXPECT_EQ(MatchAll(trie, "devices/dev-5000/cmd"), (std::vector<int>{-1, 5000}));
  EXPECT_EQ(MatchAll(trie, "devices/dev-10000/cmd"), (std::vector<int>{-1}));
  EXPECT_EQ(MatchAll(trie, "devices/dev-5000/status"), (std::vector<int>{}));
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_TRUE(trie.Erase("devices/dev-" + std::to_string(i) + "/cmd", i));
  }
  EXPECT_EQ(trie.filter_count(), 1u);
}

TEST(TopicTrieTest, DepthLimit) {
  std::string deepest;
  for (size_t i = 0; i < TopicTrie<int>::kMaxLevels; ++i) deepest += i == 0 ? "x" : "/x";
  EXPECT_TRUE(TopicTrie<int>::CanHold(deepest));
  EXPECT_FALSE(TopicTrie<int>::CanHold(deepest + "/x"));
  EXPECT_FALSE(TopicTrie<int>::CanHold("a/#/b"));
  EXPECT_FALSE(TopicTrie<int>::CanHold(""));

  TopicTrie<int> trie;
  std::string plus_chain;
  for (size_t i = 0; i < TopicTrie<int>::kMaxLevels; ++i) plus_chain += i == 0 ? "+" : "/+";
  EXPECT_TRUE(trie.Insert(deepest, 1));
  EXPECT_TRUE(trie.Insert(plus_chain, 2));
  EXPECT_TRUE(trie.Insert("#", 3));
  EXPECT_EQ(MatchAll(trie, deepest), (std::vector<int>{1, 2, 3}));
  // A topic far deeper than any filter is cut short by the trie's own depth.
  std::string very_deep = deepest;
  for (int i = 0; i < 5000; ++i) very_deep += "/x";
  EXPECT_EQ(MatchAll(trie, very_deep), (std::vector<int>{3}));
}

TEST(TopicTrieTest, MatchDoesNotAllocate) {
  TopicTrie<int> trie;
  for (int i = 0; i < 100; ++i) trie.Insert("devices/dev-" + std::to_string(i) + "/+", i);
  trie.Insert("devices/#", 1000);
  trie.Insert("+/+/cmd", 1001);
  trie.Insert("#", 1002);
  int64_t sum = 0;
  testing::AllocationScope scope;
  for (int round = 0; round < 1000; ++round) {
    trie.Match("devices/dev-42/cmd", [&](int value) { sum += value; });
    trie.Match("$SYS/load", [&](int value) { sum += value; });
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(sum, 1000 * (42 + 1000 + 1001 + 1002));
}

// Differential test: the trie agrees with TopicMatches on random filters and names, through
// random inserts and erases.
TEST(TopicTrieTest, AgreesWithTopicMatches) {
  std::mt19937 rng(12345);
  const std::vector<std::string> name_levels = {"a", "b", "", "$x", "c"};
  auto random_name = [&] {
    const int levels = 1 + rng() % 4;
    std::string name;
    for (int i = 0; i < levels; ++i) {
      if (i > 0) name += '/';
      name += name_levels[rng() % name_levels.size()];
    }
    return name.empty() ? std::string("b") : name;
  };
  auto random_filter = [&] {
    const int levels = 1 + rng() % 4;
    std::string filter;
    for (int i = 0; i < levels; ++i) {
      if (i > 0) filter += '/';
      const unsigned pick = rng() % 8;
      if (pick == 0 && i + 1 == levels) {
        filter += '#';
      } else if (pick < 3) {
        filter += '+';
      } else {
        filter += name_levels[rng() % name_levels.size()];
      }
    }
    return filter.empty() ? std::string("a") : filter;
  };

  TopicTrie<int> trie;
  std::map<std::string, std::set<int>> model;
  for (int step = 0; step < 4000; ++step) {
    const std::string filter = random_filter();
    ASSERT_TRUE(ValidateTopicFilter(filter).ok()) << filter;
    const int value = rng() % 4;
    if (rng() % 3 != 0) {
      const bool was_empty = model[filter].empty();
      const bool inserted = model[filter].insert(value).second;
      EXPECT_EQ(trie.Insert(filter, value), was_empty && inserted) << filter;
    } else {
      auto it = model.find(filter);
      const bool erased = it != model.end() && it->second.erase(value) == 1;
      const bool now_empty = erased && it->second.empty();
      EXPECT_EQ(trie.Erase(filter, value), now_empty) << filter;
      if (it != model.end() && it->second.empty()) model.erase(it);
    }
    if (step % 10 == 0) {
      const std::string name = random_name();
      std::vector<int> expected;
      for (const auto& [f, values] : model) {
        if (TopicMatches(f, name)) expected.insert(expected.end(), values.begin(), values.end());
      }
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(MatchAll(trie, name), expected) << name;
    }
  }
  size_t non_empty = 0;
  for (const auto& [f, values] : model) non_empty += values.empty() ? 0 : 1;
  EXPECT_EQ(trie.filter_count(), non_empty);
  for (const auto& [f, values] : model) {
    for (const int v : values) trie.Erase(f, v);
  }
  EXPECT_TRUE(trie.has_no_nodes());
}

}  // namespace
}  // namespace sb::mqtt
