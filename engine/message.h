// Messages in flight between shards.
//
// ForwardedProperties: the MQTT 5 PUBLISH properties that travel with a message to its
// receivers (dropped for 3.1.1 receivers by the codec). RoutedMessage: one published
// message on its way to the shards with matching subscribers — a single immutable block
// (topic, payload, properties, publisher ID) with an atomic reference count, released by
// whichever shard delivers it last. InterestChange: "shard S now has (or no longer has) a
// subscriber for filter F", broadcast so every shard keeps a replica of who wants what.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/mqtt/codec.h"

namespace sb::engine {

struct ForwardedProperties {
  int8_t payload_format = -1;  // -1 absent
  std::optional<uint32_t> message_expiry;
  std::string_view content_type;
  std::string_view response_topic;
  std::string_view correlation_data;
  std::string_view user_properties_wire;  // 0x26 name value, repeated
  // Input only (a received PUBLISH): the decoded list, serialized by RoutedMessage::Create.
  const mqtt::UserProperties* user_properties_source = nullptr;

  // Fills the PUBLISH properties for a 5.0 receiver (views into this object's storage).
  void ApplyTo(mqtt::Properties* properties) const;
  size_t StorageBytes() const;
};

// Extracts the forwardable properties of a received PUBLISH (views into the packet).
ForwardedProperties ForwardableProperties(const mqtt::Publish& publish);

class RoutedMessage {
 public:
  // One allocation holding every byte; `references` is the number of Release calls due.
  static RoutedMessage* Create(std::string_view topic, std::span<const uint8_t> payload,
                               std::string_view publisher_id, const ForwardedProperties& properties,
                               uint8_t qos, uint32_t references);
  void AddReference(uint32_t n = 1) { references_.fetch_add(n, std::memory_order_relaxed); }
  void Release();

  std::string_view topic() const { return topic_; }
  std::span<const uint8_t> payload() const { return payload_; }
  std::string_view publisher_id() const { return publisher_id_; }
  const ForwardedProperties& properties() const { return properties_; }
  uint8_t qos() const { return qos_; }

 private:
  RoutedMessage() = default;
  std::atomic<uint32_t> references_{1};
  uint8_t qos_ = 0;
  std::string_view topic_;
  std::span<const uint8_t> payload_;
  std::string_view publisher_id_;
  ForwardedProperties properties_;
};

struct InterestChange {
  uint16_t shard = 0;
  bool gained = false;  // true: first local subscriber for the filter; false: last one left
  std::string filter;
};

}  // namespace sb::engine
