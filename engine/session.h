// Session: the state of one connected MQTT client, owned by the shard its client ID hashes
// to (and only ever touched there). Sessions are not persisted: Switchboard routes and never
// queues for offline clients, so a session lives exactly as long as its connection and
// every CONNACK says Session Present = 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/message.h"
#include "engine/timer_wheel.h"
#include "engine/token_bucket.h"
#include "policy/compiled_iam_policies.h"

namespace sb::engine {

struct Connection;
struct Session;

// One outbound QoS 1 PUBLISH waiting for its PUBACK.
struct Inflight {
  Timer deadline;            // direct messages: the confirmation timeout
  Session* session = nullptr;
  uint16_t packet_id = 0;    // 0: slot free
  bool direct = false;       // a direct message (someone may be waiting for the PUBACK)
  bool waiting = false;      // the sender still waits (false after a timeout answered it)
  uint16_t origin_shard = 0;
  uint64_t token = 0;
};

struct SubscriptionEntry {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;
};

struct WillMessage {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  std::string properties_storage;  // backing bytes of `properties`
  ForwardedProperties properties;
};

struct Session {
  std::string client_id;
  Connection* connection = nullptr;
  uint8_t version = 4;               // protocol level: 4 (3.1.1) or 5 (5.0)
  uint16_t keepalive_s = 0;
  uint16_t next_packet_id = 1;
  uint16_t inflight_used = 0;
  uint16_t inflight_limit = 100;     // min(our window, the client's Receive Maximum)
  uint16_t topic_alias_max = 0;      // aliases we accept from the client (MQTT 5)
  uint32_t max_packet_size = 0;      // the client's Maximum Packet Size (0: no limit)
  // Who this device is (SPEC 1), as of snapshot `principal_version`: re-read from the newest
  // snapshot before a decision (Shard::PrincipalOf), so a policy change applies to connected
  // clients at once. Kept together, next to the fields a packet touches anyway, so that an
  // IAM decision reads its policy documents straight from here.
  uint64_t principal_version = 0;
  const void* principal = nullptr;   // control::Principal, nullptr = none (deleted)
  policy::IamPoliciesView iam;       // principal->iam, valid while that snapshot is held
  bool principal_admin = false;      // principal->admin: allowed everything
  bool is_thing = false;             // client ID names a Thing
  uint64_t delivery_epoch = 0;       // dedupes overlapping subscriptions per publish
  uint8_t delivery_qos = 0;
  TokenBucket outbound_rate;
  std::unique_ptr<Inflight[]> inflight;          // inflight_limit slots, made on first use
  std::vector<RoutedMessage*> pending;           // QoS 1 pub/sub waiting for a window slot
  std::vector<SubscriptionEntry> subscriptions;
  std::unique_ptr<std::string[]> topic_aliases;  // topic_alias_max entries, made on first use
  std::unique_ptr<WillMessage> will;
  std::string principal_name;        // "" = anonymous; resolved into the fields above per snapshot

  bool IsV5() const { return version == 5; }
};

}  // namespace sb::engine
