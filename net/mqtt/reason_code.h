// MQTT reason codes and the small status value every sb::mqtt function returns.
//
// ReasonCode lists every MQTT 5.0 reason code (OASIS MQTT 5.0, 2.4). MQTT 3.1.1 has only
// CONNACK return codes and SUBACK return codes; the helpers below translate. Status is
// errors-as-values: a reason code plus a short static message (never owned, never
// allocated), cheap to return on success. Everything here is constexpr or pure and safe
// to use from any shard.
#pragma once

#include <cstdint>

namespace sb::mqtt {

enum class ReasonCode : uint8_t {
  kSuccess = 0x00,
  kNormalDisconnection = 0x00,
  kGrantedQos0 = 0x00,
  kGrantedQos1 = 0x01,
  kGrantedQos2 = 0x02,
  kDisconnectWithWillMessage = 0x04,
  kNoMatchingSubscribers = 0x10,
  kNoSubscriptionExisted = 0x11,
  kContinueAuthentication = 0x18,
  kReAuthenticate = 0x19,
  kUnspecifiedError = 0x80,
  kMalformedPacket = 0x81,
  kProtocolError = 0x82,
  kImplementationSpecificError = 0x83,
  kUnsupportedProtocolVersion = 0x84,
  kClientIdentifierNotValid = 0x85,
  kBadUserNameOrPassword = 0x86,
  kNotAuthorized = 0x87,
  kServerUnavailable = 0x88,
  kServerBusy = 0x89,
  kBanned = 0x8A,
  kServerShuttingDown = 0x8B,
  kBadAuthenticationMethod = 0x8C,
  kKeepAliveTimeout = 0x8D,
  kSessionTakenOver = 0x8E,
  kTopicFilterInvalid = 0x8F,
  kTopicNameInvalid = 0x90,
  kPacketIdentifierInUse = 0x91,
  kPacketIdentifierNotFound = 0x92,
  kReceiveMaximumExceeded = 0x93,
  kTopicAliasInvalid = 0x94,
  kPacketTooLarge = 0x95,
  kMessageRateTooHigh = 0x96,
  kQuotaExceeded = 0x97,
  kAdministrativeAction = 0x98,
  kPayloadFormatInvalid = 0x99,
  kRetainNotSupported = 0x9A,
  kQosNotSupported = 0x9B,
  kUseAnotherServer = 0x9C,
  kServerMoved = 0x9D,
  kSharedSubscriptionsNotSupported = 0x9E,
  kConnectionRateExceeded = 0x9F,
  kMaximumConnectTime = 0xA0,
  kSubscriptionIdentifiersNotSupported = 0xA1,
  kWildcardSubscriptionsNotSupported = 0xA2,
};

// The outcome of a decode or a validation. `message` is a static string for logs.
struct Status {
  ReasonCode reason = ReasonCode::kSuccess;
  const char* message = "ok";

  constexpr bool ok() const { return reason == ReasonCode::kSuccess; }
};

inline constexpr Status kOk{};

// The spec's name of a reason code ("Malformed Packet"); "Unknown reason code" otherwise.
// 0x00 reads "Success".
const char* ReasonCodeName(ReasonCode code);

// MQTT 3.1.1 CONNACK return codes (3.1.1, 3.2.2.3).
enum class V311ConnackCode : uint8_t {
  kAccepted = 0x00,
  kUnacceptableProtocolVersion = 0x01,
  kIdentifierRejected = 0x02,
  kServerUnavailable = 0x03,
  kBadUserNameOrPassword = 0x04,
  kNotAuthorized = 0x05,
};

// Maps a 5.0 CONNACK reason to the closest 3.1.1 return code: 0x84 -> 0x01, 0x85 -> 0x02,
// 0x86/0x8C -> 0x04, 0x87/0x8A -> 0x05, success -> 0x00, any other refusal -> 0x03.
constexpr V311ConnackCode ToV311ConnackCode(ReasonCode reason) {
  switch (reason) {
    case ReasonCode::kSuccess: return V311ConnackCode::kAccepted;
    case ReasonCode::kUnsupportedProtocolVersion:
      return V311ConnackCode::kUnacceptableProtocolVersion;
    case ReasonCode::kClientIdentifierNotValid: return V311ConnackCode::kIdentifierRejected;
    case ReasonCode::kBadUserNameOrPassword:
    case ReasonCode::kBadAuthenticationMethod: return V311ConnackCode::kBadUserNameOrPassword;
    case ReasonCode::kNotAuthorized:
    case ReasonCode::kBanned: return V311ConnackCode::kNotAuthorized;
    default: return V311ConnackCode::kServerUnavailable;
  }
}

// The inverse, for a 3.1.1 client reading a CONNACK. Precondition: code <= 0x05.
constexpr ReasonCode FromV311ConnackCode(V311ConnackCode code) {
  switch (code) {
    case V311ConnackCode::kAccepted: return ReasonCode::kSuccess;
    case V311ConnackCode::kUnacceptableProtocolVersion:
      return ReasonCode::kUnsupportedProtocolVersion;
    case V311ConnackCode::kIdentifierRejected: return ReasonCode::kClientIdentifierNotValid;
    case V311ConnackCode::kBadUserNameOrPassword: return ReasonCode::kBadUserNameOrPassword;
    case V311ConnackCode::kNotAuthorized: return ReasonCode::kNotAuthorized;
    case V311ConnackCode::kServerUnavailable: break;
  }
  return ReasonCode::kServerUnavailable;
}

// 3.1.1 SUBACK carries only 0x00..0x02 (granted QoS) or 0x80 (failure): every 5.0 failure
// reason collapses to 0x80.
constexpr uint8_t ToV311SubackCode(ReasonCode reason) {
  const auto value = static_cast<uint8_t>(reason);
  return value < 0x80 ? value : 0x80;
}

}  // namespace sb::mqtt
