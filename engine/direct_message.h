// Direct messages (SPEC 2): `POST /connections/{clientId}/messages?topic=&confirmation=&timeout=`.
//
// ParseDirectRequest turns an HTTP request into a DirectRequest: every parameter rule of the
// spec is checked here, on the shard that received the request, so a bad request never
// travels. The DirectRequest is ONE allocation holding every decoded string and the payload;
// it is handed to the shard that owns the client ID, which delivers it and frees it.
// DirectOutcome is what comes back (a small value, no allocation) and DescribeOutcome maps
// it to the HTTP status and JSON reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/config.h"
#include "engine/message.h"
#include "net/http/parser.h"

namespace sb::engine {

struct DirectRequest {
  uint64_t token = 0;          // identifies the waiting HTTP exchange on the origin shard
  uint64_t accepted_us = 0;
  uint16_t origin_shard = 0;
  bool confirm = false;        // QoS 1 and wait for PUBACK
  uint32_t timeout_ms = 5000;
  std::string_view client_id;
  std::string_view topic;
  std::string_view payload;
  // contentType, responseTopic and the x-amz-mqtt5-* headers, for MQTT 5 receivers.
  ForwardedProperties properties;

  // Storage for every view above follows the struct in the same allocation.
  static DirectRequest* Allocate(size_t storage_bytes);
  static void Free(DirectRequest* request);
  char* storage() { return reinterpret_cast<char*>(this + 1); }
};

struct DirectError {
  int status = 400;
  const char* reason = "";     // stable machine-readable code, e.g. INVALID_TOPIC
  std::string message;         // human sentence
};

// Validates the request line, query and headers (not the body's arrival: the caller passes
// the complete body). On success returns a new DirectRequest (caller owns it) and leaves
// *error untouched; on failure returns nullptr and fills *error.
DirectRequest* ParseDirectRequest(std::string_view encoded_client_id, const http::RequestHead& head,
                                  std::string_view body, const Limits& limits, DirectError* error);

// The client ID segment of a /connections/{id}/messages path, or empty if the path is not
// that route. Never allocates.
bool MatchDirectRoute(std::string_view path, std::string_view* encoded_client_id);

enum class DirectOutcome : uint8_t {
  kDelivered,            // QoS 0 handed to the connection
  kAcknowledged,         // QoS 1 PUBACK received
  kNotConnected,
  kDeviceRateLimited,
  kInflightWindowFull,
  kOutboundBufferFull,
  kTooLargeForDevice,    // above the receiver's Maximum Packet Size
  kTimeout,
  kConnectionClosed,     // the device went away while we waited for PUBACK
  kPubackRejected,       // MQTT 5 PUBACK with a failure reason code
  kReceiverNotAuthorized,  // the device lacks iot:Receive on the topic
  kShuttingDown,
  kInternalError,
};

struct OutcomeDescription {
  int status;
  const char* reason;
  const char* message;
};
OutcomeDescription DescribeOutcome(DirectOutcome outcome);

// A DirectOutcome and the device's PUBACK reason code, packed into a MailItem field.
inline uint64_t PackOutcome(DirectOutcome outcome, uint8_t puback_reason) {
  return uint64_t(outcome) | (uint64_t(puback_reason) << 8);
}
struct UnpackedOutcome {
  DirectOutcome outcome;
  uint8_t puback_reason;
};
inline UnpackedOutcome UnpackOutcome(uint64_t packed) {
  return {static_cast<DirectOutcome>(packed & 0xFF), static_cast<uint8_t>(packed >> 8)};
}

}  // namespace sb::engine
