#include "engine/direct_message.h"

#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "net/http/encoding.h"
#include "net/mqtt/topic.h"
#include "net/mqtt/utf8.h"

namespace sb::engine {

DirectRequest* DirectRequest::Allocate(size_t storage_bytes) {
  void* block = std::malloc(sizeof(DirectRequest) + storage_bytes);
  if (!block) return nullptr;
  return new (block) DirectRequest();
}

void DirectRequest::Free(DirectRequest* request) {
  if (!request) return;
  request->~DirectRequest();
  std::free(request);
}

bool MatchDirectRoute(std::string_view path, std::string_view* encoded_client_id) {
  constexpr std::string_view kPrefix = "/connections/";
  constexpr std::string_view kSuffix = "/messages";
  if (path.size() <= kPrefix.size() + kSuffix.size()) {
    // "/connections//messages" still names the route (with an empty, invalid client ID).
    if (path != "/connections//messages") return false;
  }
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = path.substr(kPrefix.size());
  if (rest.size() < kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix) return false;
  std::string_view id = rest.substr(0, rest.size() - kSuffix.size());
  if (id.find('/') != std::string_view::npos) return false;  // a '/' in an ID must be %2F
  *encoded_client_id = id;
  return true;
}

namespace {

// A bump allocator over the DirectRequest's trailing storage.
class Storage {
 public:
  Storage(char* base, size_t capacity) : base_(base), capacity_(capacity) {}
  char* Take(size_t n) {
    if (used_ + n > capacity_) return nullptr;
    char* p = base_ + used_;
    used_ += n;
    return p;
  }
  void GiveBack(size_t n) { used_ -= n; }

 private:
  char* base_;
  size_t capacity_;
  size_t used_ = 0;
};

DirectRequest* Fail(DirectRequest* request, DirectError* error, int status, const char* reason,
                    std::string message) {
  DirectRequest::Free(request);
  error->status = status;
  error->reason = reason;
  error->message = std::move(message);
  return nullptr;
}

// Percent-decodes `raw` into storage; nullopt when the encoding is broken.
std::optional<std::string_view> Decode(Storage& storage, std::string_view raw) {
  char* out = storage.Take(raw.size());
  if (!out && !raw.empty()) return std::nullopt;
  // RFC 3986: "+" stays "+" (so a wildcard in a topic is refused, not turned into a space).
  auto n = http::PercentDecode(raw, out, raw.size(), http::PlusDecoding::kKeepPlus);
  if (!n) return std::nullopt;
  storage.GiveBack(raw.size() - *n);
  return std::string_view(out, *n);
}

const char* CheckTopic(std::string_view topic, const Limits& limits, bool for_response_topic) {
  if (topic.empty()) return "must not be empty";
  if (topic.size() > limits.max_topic_bytes) return "is longer than the topic limit";
  if (!for_response_topic && topic.front() == '$') return "must not start with '$'";
  mqtt::TopicLimits topic_limits;
  topic_limits.max_bytes = limits.max_topic_bytes;
  topic_limits.max_levels = for_response_topic ? UINT32_MAX : limits.max_topic_levels;
  if (!mqtt::ValidateTopicName(topic, topic_limits).ok()) {
    return "is not a valid MQTT topic name (no '+', '#' or U+0000, well-formed UTF-8, within the level limit)";
  }
  return nullptr;
}

bool AppendU16String(Storage& storage, std::string_view s, std::string_view* wire_end) {
  if (s.size() > 65535) return false;
  char* p = storage.Take(2 + s.size());
  if (!p) return false;
  p[0] = static_cast<char>(s.size() >> 8);
  p[1] = static_cast<char>(s.size() & 0xFF);
  std::memcpy(p + 2, s.data(), s.size());
  *wire_end = std::string_view(wire_end->data(), wire_end->size() + 2 + s.size());
  return true;
}

}  // namespace

DirectRequest* ParseDirectRequest(std::string_view encoded_client_id, const http::RequestHead& head,
                                  std::string_view body, const Limits& limits, DirectError* error) {
  // Gather raw parameters first; reject duplicates (ambiguous) up front.
  std::string_view raw_topic, raw_confirmation, raw_timeout, raw_content_type, raw_response_topic;
  bool have_topic = false, have_confirmation = false, have_timeout = false;
  bool have_content_type = false, have_response_topic = false;
  const char* duplicate = nullptr;
  http::ForEachQueryParam(head.query, [&](std::string_view name, std::string_view value) {
    auto take = [&](bool* have, std::string_view* slot, const char* label) {
      if (*have) duplicate = label;
      *have = true;
      *slot = value;
    };
    if (name == "topic") take(&have_topic, &raw_topic, "topic");
    else if (name == "confirmation") take(&have_confirmation, &raw_confirmation, "confirmation");
    else if (name == "timeout") take(&have_timeout, &raw_timeout, "timeout");
    else if (name == "contentType") take(&have_content_type, &raw_content_type, "contentType");
    else if (name == "responseTopic") take(&have_response_topic, &raw_response_topic, "responseTopic");
  });
  if (duplicate) {
    return Fail(nullptr, error, 400, "DUPLICATE_PARAMETER",
                std::string("The query parameter '") + duplicate + "' is given more than once.");
  }
  if (body.size() > limits.max_direct_payload) {
    return Fail(nullptr, error, 413, "PAYLOAD_TOO_LARGE",
                "The payload of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_direct_payload) + " bytes.");
  }

  auto user_props_header = http::FindHeader(head, "x-amz-mqtt5-user-properties");
  auto format_header = http::FindHeader(head, "x-amz-mqtt5-payload-format-indicator");
  auto correlation_header = http::FindHeader(head, "x-amz-mqtt5-correlation-data");

  // Every decoded form is no longer than its raw form; user properties grow by at most
  // 4 bytes of length prefixes per pair plus the property byte, which the JSON syntax
  // around each pair ({"":""} is 7 bytes) more than pays for.
  size_t capacity = encoded_client_id.size() + raw_topic.size() + raw_content_type.size() +
                    raw_response_topic.size() + body.size() +
                    (user_props_header ? user_props_header->size() * 2 : 0) +
                    (correlation_header ? correlation_header->size() : 0) + 16;
  DirectRequest* request = DirectRequest::Allocate(capacity);
  if (!request) return Fail(nullptr, error, 500, "INTERNAL_ERROR", "Out of memory.");
  Storage storage(request->storage(), capacity);

  // Client ID.
  auto client_id = Decode(storage, encoded_client_id);
  if (!client_id) {
    return Fail(request, error, 400, "INVALID_CLIENT_ID", "The client ID is not correctly percent-encoded.");
  }
  if (client_id->empty() || client_id->size() > limits.max_client_id_bytes) {
    return Fail(request, error, 400, "INVALID_CLIENT_ID",
                "The client ID must be 1 to " + std::to_string(limits.max_client_id_bytes) + " bytes long.");
  }
  if (client_id->front() == '$') {
    return Fail(request, error, 400, "INVALID_CLIENT_ID", "The client ID must not start with '$'.");
  }
  if (!http::ValidUtf8(*client_id)) {
    return Fail(request, error, 400, "INVALID_CLIENT_ID", "The client ID is not valid UTF-8.");
  }
  request->client_id = *client_id;

  // Topic.
  if (!have_topic) return Fail(request, error, 400, "MISSING_TOPIC", "The query parameter 'topic' is required.");
  auto topic = Decode(storage, raw_topic);
  if (!topic) return Fail(request, error, 400, "INVALID_TOPIC", "The topic is not correctly percent-encoded.");
  if (const char* why = CheckTopic(*topic, limits, false)) {
    return Fail(request, error, 400, "INVALID_TOPIC", std::string("The topic ") + why + ".");
  }
  request->topic = *topic;

  // Confirmation and timeout.
  if (have_confirmation) {
    if (http::EqualsIgnoreCase(raw_confirmation, "true")) request->confirm = true;
    else if (http::EqualsIgnoreCase(raw_confirmation, "false")) request->confirm = false;
    else return Fail(request, error, 400, "INVALID_CONFIRMATION", "The parameter 'confirmation' must be true or false.");
  }
  if (have_timeout && request->confirm) {
    // Only meaningful with confirmation=true; ignored otherwise, as AWS IoT does.
    uint32_t seconds = 0;
    bool ok = !raw_timeout.empty() && raw_timeout.size() <= 4;
    for (char ch : raw_timeout) {
      if (ch < '0' || ch > '9') { ok = false; break; }
      seconds = seconds * 10 + uint32_t(ch - '0');
    }
    if (!ok || seconds < 1 || seconds > 15) {
      return Fail(request, error, 400, "INVALID_TIMEOUT", "The parameter 'timeout' must be an integer from 1 to 15 (seconds).");
    }
    request->timeout_ms = seconds * 1000;
  }

  // Optional MQTT 5 properties.
  if (have_content_type) {
    auto content_type = Decode(storage, raw_content_type);
    if (!content_type || !mqtt::IsValidMqttUtf8(*content_type) || content_type->size() > 65535) {
      return Fail(request, error, 400, "INVALID_CONTENT_TYPE", "The parameter 'contentType' must be percent-encoded UTF-8.");
    }
    request->properties.content_type = *content_type;
  }
  if (have_response_topic) {
    auto response_topic = Decode(storage, raw_response_topic);
    if (!response_topic) return Fail(request, error, 400, "INVALID_RESPONSE_TOPIC", "The response topic is not correctly percent-encoded.");
    if (const char* why = CheckTopic(*response_topic, limits, true)) {
      return Fail(request, error, 400, "INVALID_RESPONSE_TOPIC", std::string("The response topic ") + why + ".");
    }
    request->properties.response_topic = *response_topic;
  }
  if (format_header) {
    if (*format_header == "UNSPECIFIED_BYTES") request->properties.payload_format = 0;
    else if (*format_header == "UTF8_DATA") request->properties.payload_format = 1;
    else return Fail(request, error, 400, "INVALID_HEADER", "x-amz-mqtt5-payload-format-indicator must be UNSPECIFIED_BYTES or UTF8_DATA.");
  }
  if (correlation_header) {
    char* out = storage.Take(correlation_header->size());
    auto n = http::Base64Decode(*correlation_header, out, correlation_header->size());
    if (!n || *n > 65535) return Fail(request, error, 400, "INVALID_HEADER", "x-amz-mqtt5-correlation-data must be base64 (at most 65535 bytes decoded).");
    storage.GiveBack(correlation_header->size() - *n);
    request->properties.correlation_data = std::string_view(out, *n);
  }
  if (user_props_header) {
    // base64 of a JSON array of one-key objects: [{"name":"value"}, ...]. Decode into a
    // padded scratch area (simdjson needs padding), then emit wire-form pairs.
    std::string json(user_props_header->size(), '\0');
    auto n = http::Base64Decode(*user_props_header, json.data(), json.size());
    if (!n) return Fail(request, error, 400, "INVALID_HEADER", "x-amz-mqtt5-user-properties must be base64.");
    json.resize(*n);
    thread_local simdjson::dom::parser parser;  // reused: no allocation after warm-up
    simdjson::dom::element doc;
    bool ok = parser.parse(json).get(doc) == simdjson::SUCCESS && doc.is_array();
    std::string_view wire(storage.Take(0), 0);
    if (ok) {
      for (simdjson::dom::element item : doc.get_array()) {
        simdjson::dom::object object;
        if (item.get_object().get(object) != simdjson::SUCCESS || object.size() != 1) { ok = false; break; }
        for (auto field : object) {
          std::string_view value;
          // MQTT strings: UTF-8 without U+0000 (JSON can smuggle one in as \u0000).
          if (field.value.get_string().get(value) != simdjson::SUCCESS || !mqtt::IsValidMqttUtf8(field.key) ||
              !mqtt::IsValidMqttUtf8(value)) {
            ok = false;
            break;
          }
          char* marker = storage.Take(1);
          if (!marker) { ok = false; break; }
          *marker = 0x26;  // MQTT 5 User Property
          wire = std::string_view(wire.data(), wire.size() + 1);
          if (!AppendU16String(storage, field.key, &wire) || !AppendU16String(storage, value, &wire)) { ok = false; break; }
        }
        if (!ok) break;
      }
    }
    if (!ok) {
      return Fail(request, error, 400, "INVALID_HEADER",
                  "x-amz-mqtt5-user-properties must be base64 of a JSON array of one-key objects with string values.");
    }
    request->properties.user_properties_wire = wire;
  }

  // Payload last: copied once, into the same block.
  if (request->properties.payload_format == 1 && !http::ValidUtf8(body)) {
    return Fail(request, error, 400, "INVALID_PAYLOAD", "The payload format is UTF8_DATA but the payload is not valid UTF-8.");
  }
  char* payload = storage.Take(body.size());
  if (!body.empty()) std::memcpy(payload, body.data(), body.size());
  request->payload = std::string_view(payload ? payload : "", body.size());
  return request;
}

OutcomeDescription DescribeOutcome(DirectOutcome outcome) {
  switch (outcome) {
    case DirectOutcome::kDelivered:
      return {200, "DELIVERED", "The message was delivered to the client."};
    case DirectOutcome::kAcknowledged:
      return {200, "ACKNOWLEDGED", "The client acknowledged the message (PUBACK)."};
    case DirectOutcome::kNotConnected:
      return {404, "CLIENT_NOT_CONNECTED", "The target client ID is not connected."};
    case DirectOutcome::kDeviceRateLimited:
      return {429, "RECEIVER_RATE_EXCEEDED", "The receiver connection exceeded its outbound publish rate."};
    case DirectOutcome::kInflightWindowFull:
      return {429, "RECEIVER_INFLIGHT_EXCEEDED", "The receiver has too many unacknowledged messages in flight."};
    case DirectOutcome::kOutboundBufferFull:
      return {429, "RECEIVER_BUFFER_FULL", "The receiver is not reading fast enough; its outbound buffer is full."};
    case DirectOutcome::kTooLargeForDevice:
      return {413, "RECEIVER_PACKET_TOO_LARGE", "The message exceeds the receiver's Maximum Packet Size."};
    case DirectOutcome::kTimeout:
      return {504, "CONFIRMATION_TIMEOUT", "The receiver did not acknowledge the message (PUBACK) within the timeout."};
    case DirectOutcome::kConnectionClosed:
      return {504, "CONNECTION_CLOSED", "The receiver's connection closed before it acknowledged the message."};
    case DirectOutcome::kPubackRejected:
      return {500, "RECEIVER_REJECTED", "The receiver answered the message with a failure reason code in its PUBACK."};
    case DirectOutcome::kReceiverNotAuthorized:
      return {403, "RECEIVER_NOT_AUTHORIZED", "The receiver is not allowed iot:Receive on this topic."};
    case DirectOutcome::kShuttingDown:
      return {500, "SERVER_SHUTTING_DOWN", "The server shut down before the receiver acknowledged the message."};
    case DirectOutcome::kInternalError:
      return {500, "INTERNAL_ERROR", "An unexpected server-side failure occurred."};
  }
  return {500, "INTERNAL_ERROR", "An unexpected server-side failure occurred."};
}

}  // namespace sb::engine
