// Routing: which sessions and which shards want a topic.
//
// Each shard keeps (1) a trie of its own sessions' subscriptions and (2) a replica of every
// shard's interest: filter -> shards with at least one subscriber. Interest changes only on
// a filter's first subscriber and last unsubscribe on a shard, and is broadcast as an
// InterestChange; so a PUBLISH is matched once against the replica on the publisher's shard
// and travels only to shards that have a matching subscriber (Redpanda-style: read-mostly
// routing tables replicated per core rather than shared behind a lock). Shard-local.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "net/mqtt/topic_trie.h"

namespace sb::engine {

struct Session;

// Stable owner of a client ID: FNV-1a (64-bit) folded onto the shard count.
inline uint16_t OwnerShard(std::string_view client_id, uint16_t shard_count) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : client_id) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  h ^= h >> 32;
  return static_cast<uint16_t>(h % shard_count);
}

struct LocalSubscriber {
  Session* session = nullptr;
  uint8_t qos = 0;
  bool no_local = false;
  bool operator==(const LocalSubscriber& other) const { return session == other.session; }
};

struct LocalSubscriberHash {
  size_t operator()(const LocalSubscriber& s) const noexcept { return std::hash<const void*>{}(s.session); }
};

class Routing {
 public:
  // Returns true when `filter` had no local subscriber before (tell the other shards).
  bool Subscribe(std::string_view filter, const LocalSubscriber& subscriber) {
    return local_.Insert(filter, subscriber);
  }
  // Returns true when the last local subscriber of `filter` left (tell the other shards).
  bool Unsubscribe(std::string_view filter, Session* session) {
    return local_.Erase(filter, LocalSubscriber{session});
  }
  template <class F>
  void ForEachLocalSubscriber(std::string_view topic, F&& f) const {
    local_.Match(topic, f);
  }

  void SetInterest(std::string_view filter, uint16_t shard, bool gained) {
    if (gained) interest_.Insert(filter, shard);
    else interest_.Erase(filter, shard);
  }
  // Bitmask of shards (< 64) with a subscriber matching `topic`.
  uint64_t InterestedShards(std::string_view topic) const {
    uint64_t mask = 0;
    interest_.Match(topic, [&mask](uint16_t shard) { mask |= uint64_t(1) << shard; });
    return mask;
  }

 private:
  mqtt::TopicTrie<LocalSubscriber, LocalSubscriberHash> local_;
  mqtt::TopicTrie<uint16_t> interest_;
};

}  // namespace sb::engine
