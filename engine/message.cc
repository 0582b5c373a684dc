#include "engine/message.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace sb::engine {

void ForwardedProperties::ApplyTo(mqtt::Properties* properties) const {
  if (payload_format >= 0) properties->payload_format_indicator = static_cast<uint8_t>(payload_format);
  if (message_expiry) properties->message_expiry_interval = *message_expiry;
  if (!content_type.empty()) properties->content_type = content_type;
  if (!response_topic.empty()) properties->response_topic = response_topic;
  if (!correlation_data.empty()) {
    properties->correlation_data = std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(correlation_data.data()), correlation_data.size());
  }
  if (!user_properties_wire.empty()) {
    properties->user_properties = mqtt::UserPropertiesFromWire(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(user_properties_wire.data()), user_properties_wire.size()));
  }
}

ForwardedProperties ForwardableProperties(const mqtt::Publish& publish) {
  ForwardedProperties out;
  const mqtt::Properties& p = publish.properties;
  if (p.payload_format_indicator) out.payload_format = static_cast<int8_t>(*p.payload_format_indicator);
  out.message_expiry = p.message_expiry_interval;
  if (p.content_type) out.content_type = *p.content_type;
  if (p.response_topic) out.response_topic = *p.response_topic;
  if (p.correlation_data) {
    out.correlation_data = std::string_view(reinterpret_cast<const char*>(p.correlation_data->data()), p.correlation_data->size());
  }
  if (!p.user_properties.empty()) out.user_properties_source = &p.user_properties;
  return out;
}

namespace {
size_t UserPropertiesWireSize(const mqtt::UserProperties& list) {
  size_t n = 0;
  for (const mqtt::UserProperty& up : list) n += 5 + up.name.size() + up.value.size();
  return n;
}

void PutString(char*& cursor, std::string_view s) {
  *cursor++ = static_cast<char>(s.size() >> 8);
  *cursor++ = static_cast<char>(s.size() & 0xFF);
  std::memcpy(cursor, s.data(), s.size());
  cursor += s.size();
}

std::string_view CopyInto(char*& cursor, std::string_view s) {
  if (s.empty()) return {};
  std::memcpy(cursor, s.data(), s.size());
  std::string_view out(cursor, s.size());
  cursor += s.size();
  return out;
}
}  // namespace

size_t ForwardedProperties::StorageBytes() const {
  return content_type.size() + response_topic.size() + correlation_data.size() +
         (user_properties_source ? UserPropertiesWireSize(*user_properties_source) : user_properties_wire.size());
}


RoutedMessage* RoutedMessage::Create(std::string_view topic, std::span<const uint8_t> payload,
                                     std::string_view publisher_id, const ForwardedProperties& properties,
                                     uint8_t qos, uint32_t references) {
  size_t bytes = sizeof(RoutedMessage) + topic.size() + payload.size() + publisher_id.size() + properties.StorageBytes();
  void* block = std::malloc(bytes);
  if (!block) return nullptr;
  auto* message = new (block) RoutedMessage();
  char* cursor = static_cast<char*>(block) + sizeof(RoutedMessage);
  message->references_.store(references, std::memory_order_relaxed);
  message->qos_ = qos;
  message->topic_ = CopyInto(cursor, topic);
  std::string_view p = CopyInto(cursor, std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  message->payload_ = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  message->publisher_id_ = CopyInto(cursor, publisher_id);
  message->properties_.payload_format = properties.payload_format;
  message->properties_.message_expiry = properties.message_expiry;
  message->properties_.content_type = CopyInto(cursor, properties.content_type);
  message->properties_.response_topic = CopyInto(cursor, properties.response_topic);
  message->properties_.correlation_data = CopyInto(cursor, properties.correlation_data);
  if (properties.user_properties_source) {
    char* start = cursor;
    for (const mqtt::UserProperty& up : *properties.user_properties_source) {
      *cursor++ = 0x26;
      PutString(cursor, up.name);
      PutString(cursor, up.value);
    }
    message->properties_.user_properties_wire = std::string_view(start, cursor - start);
  } else {
    message->properties_.user_properties_wire = CopyInto(cursor, properties.user_properties_wire);
  }
  return message;
}

void RoutedMessage::Release() {
  if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~RoutedMessage();
    std::free(this);
  }
}

}  // namespace sb::engine
