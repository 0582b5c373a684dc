#include "net/mqtt/codec.h"

#include <array>
#include <cstring>

#include "net/mqtt/topic.h"
#include "net/mqtt/utf8.h"

namespace sb::mqtt {

namespace internal {

// The only way to build a list that iterates wire bytes: decoders validated them first.
struct WireAccess {
  template <class List>
  static List FromWire(std::span<const uint8_t> wire, size_t count) {
    List list;
    list.wire_ = wire;
    list.size_ = count;
    list.from_wire_ = true;
    return list;
  }
  static ReasonCodeList CodesFromWire(std::span<const uint8_t> bytes) {
    ReasonCodeList list;
    list.bytes_ = bytes.data();
    list.size_ = bytes.size();
    return list;
  }
};

}  // namespace internal

namespace {

using internal::WireAccess;

constexpr Status Malformed(const char* message) { return {ReasonCode::kMalformedPacket, message}; }
constexpr Status ProtocolError(const char* message) {
  return {ReasonCode::kProtocolError, message};
}

// ---------------------------------------------------------------------------------------
// Variable Byte Integer (MQTT 5.0 1.5.5): at most 4 bytes, and the minimal encoding
// [MQTT-1.5.5-1], i.e. a multi-byte integer never ends in a zero byte.

enum class VarIntResult : uint8_t { kOk, kNeedMore, kMalformed };

VarIntResult DecodeVarInt(std::span<const uint8_t> in, uint32_t* value, size_t* used) {
  uint32_t result = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (i >= in.size()) return VarIntResult::kNeedMore;
    const uint8_t byte = in[i];
    result |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) return VarIntResult::kMalformed;
      *value = result;
      *used = i + 1;
      return VarIntResult::kOk;
    }
  }
  return VarIntResult::kMalformed;
}

constexpr size_t VarIntSize(uint64_t value) {
  return value < 128 ? 1 : value < 16'384 ? 2 : value < 2'097'152 ? 3 : 4;
}

std::string_view AsString(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Bounds-checked cursor over a packet body. Every read fails instead of overrunning.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }

  bool ReadByte(uint8_t* value) {
    if (remaining() < 1) return false;
    *value = data_[pos_++];
    return true;
  }
  bool ReadU16(uint16_t* value) {
    if (remaining() < 2) return false;
    *value = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool ReadU32(uint32_t* value) {
    if (remaining() < 4) return false;
    *value = static_cast<uint32_t>(data_[pos_]) << 24 |
             static_cast<uint32_t>(data_[pos_ + 1]) << 16 |
             static_cast<uint32_t>(data_[pos_ + 2]) << 8 | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool ReadVarInt(uint32_t* value) {
    size_t used = 0;
    if (DecodeVarInt(data_.subspan(pos_), value, &used) != VarIntResult::kOk) return false;
    pos_ += used;
    return true;
  }
  bool ReadBytes(size_t n, std::span<const uint8_t>* value) {
    if (remaining() < n) return false;
    *value = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // Binary Data: a two-byte length, then that many bytes.
  bool ReadBinary(std::span<const uint8_t>* value) {
    uint16_t length;
    return ReadU16(&length) && ReadBytes(length, value);
  }
  // A UTF-8 Encoded String without checking its content (for bytes validated earlier).
  bool ReadRawString(std::string_view* value) {
    std::span<const uint8_t> bytes;
    if (!ReadBinary(&bytes)) return false;
    *value = AsString(bytes);
    return true;
  }
  // A UTF-8 Encoded String; bad UTF-8 is a Malformed Packet (MQTT 5.0 1.5.4).
  Status ReadString(std::string_view* value) {
    if (!ReadRawString(value)) return Malformed("string overruns the packet");
    if (!IsValidMqttUtf8(*value)) return Malformed("string is not valid UTF-8 or has U+0000");
    return kOk;
  }
  std::span<const uint8_t> Rest() {
    const auto rest = data_.subspan(pos_);
    pos_ = data_.size();
    return rest;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------
// Property table (MQTT 5.0 2.2.2.2, table 2-4): value type and the packets allowing it.

enum PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,
  kMessageExpiryInterval = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionIdentifier = 0x0B,
  kSessionExpiryInterval = 0x11,
  kAssignedClientIdentifier = 0x12,
  kServerKeepAlive = 0x13,
  kAuthenticationMethod = 0x15,
  kAuthenticationData = 0x16,
  kRequestProblemInformation = 0x17,
  kWillDelayInterval = 0x18,
  kRequestResponseInformation = 0x19,
  kResponseInformation = 0x1A,
  kServerReference = 0x1C,
  kReasonString = 0x1F,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQos = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubscriptionAvailable = 0x28,
  kSubscriptionIdentifierAvailable = 0x29,
  kSharedSubscriptionAvailable = 0x2A,
};

// Where a property block sits. A bit set, so the table can list several per property.
enum Context : uint16_t {
  kInConnect = 1 << 0,
  kInConnack = 1 << 1,
  kInPublish = 1 << 2,
  kInWill = 1 << 3,
  kInPublishResponse = 1 << 4,  // PUBACK, PUBREC, PUBREL, PUBCOMP
  kInSubscribe = 1 << 5,
  kInSuback = 1 << 6,
  kInUnsubscribe = 1 << 7,
  kInUnsuback = 1 << 8,
  kInDisconnect = 1 << 9,
  kInAuth = 1 << 10,
  kInAll = (1 << 11) - 1,
};

enum class ValueType : uint8_t {
  kNone,  // not a property identifier
  kByte,
  kTwoByte,
  kFourByte,
  kVarInt,
  kString,
  kBinary,
  kStringPair,
};

struct PropertySpec {
  ValueType type = ValueType::kNone;
  uint16_t contexts = 0;
};

constexpr size_t kPropertyIdLimit = 0x2B;

constexpr std::array<PropertySpec, kPropertyIdLimit> MakePropertySpecs() {
  std::array<PropertySpec, kPropertyIdLimit> specs{};
  constexpr uint16_t kMessage = kInPublish | kInWill;
  specs[kPayloadFormatIndicator] = {ValueType::kByte, kMessage};
  specs[kMessageExpiryInterval] = {ValueType::kFourByte, kMessage};
  specs[kContentType] = {ValueType::kString, kMessage};
  specs[kResponseTopic] = {ValueType::kString, kMessage};
  specs[kCorrelationData] = {ValueType::kBinary, kMessage};
  specs[kSubscriptionIdentifier] = {ValueType::kVarInt, kInPublish | kInSubscribe};
  specs[kSessionExpiryInterval] = {ValueType::kFourByte, kInConnect | kInConnack | kInDisconnect};
  specs[kAssignedClientIdentifier] = {ValueType::kString, kInConnack};
  specs[kServerKeepAlive] = {ValueType::kTwoByte, kInConnack};
  specs[kAuthenticationMethod] = {ValueType::kString, kInConnect | kInConnack | kInAuth};
  specs[kAuthenticationData] = {ValueType::kBinary, kInConnect | kInConnack | kInAuth};
  specs[kRequestProblemInformation] = {ValueType::kByte, kInConnect};
  specs[kWillDelayInterval] = {ValueType::kFourByte, kInWill};
  specs[kRequestResponseInformation] = {ValueType::kByte, kInConnect};
  specs[kResponseInformation] = {ValueType::kString, kInConnack};
  specs[kServerReference] = {ValueType::kString, kInConnack | kInDisconnect};
  specs[kReasonString] = {ValueType::kString, kInConnack | kInPublishResponse | kInSuback |
                                                  kInUnsuback | kInDisconnect | kInAuth};
  specs[kReceiveMaximum] = {ValueType::kTwoByte, kInConnect | kInConnack};
  specs[kTopicAliasMaximum] = {ValueType::kTwoByte, kInConnect | kInConnack};
  specs[kTopicAlias] = {ValueType::kTwoByte, kInPublish};
  specs[kMaximumQos] = {ValueType::kByte, kInConnack};
  specs[kRetainAvailable] = {ValueType::kByte, kInConnack};
  specs[kUserProperty] = {ValueType::kStringPair, kInAll};
  specs[kMaximumPacketSize] = {ValueType::kFourByte, kInConnect | kInConnack};
  specs[kWildcardSubscriptionAvailable] = {ValueType::kByte, kInConnack};
  specs[kSubscriptionIdentifierAvailable] = {ValueType::kByte, kInConnack};
  specs[kSharedSubscriptionAvailable] = {ValueType::kByte, kInConnack};
  return specs;
}

constexpr std::array<PropertySpec, kPropertyIdLimit> kPropertySpecs = MakePropertySpecs();

constexpr bool Allowed(PropertyId id, uint16_t context) {
  return (kPropertySpecs[id].contexts & context) != 0;
}

// Skips the value of a property of known type. False if it overruns.
bool SkipValue(Reader& reader, ValueType type) {
  uint8_t byte;
  uint16_t u16;
  uint32_t u32;
  std::span<const uint8_t> bytes;
  switch (type) {
    case ValueType::kByte: return reader.ReadByte(&byte);
    case ValueType::kTwoByte: return reader.ReadU16(&u16);
    case ValueType::kFourByte: return reader.ReadU32(&u32);
    case ValueType::kVarInt: return reader.ReadVarInt(&u32);
    case ValueType::kString:
    case ValueType::kBinary: return reader.ReadBinary(&bytes);
    case ValueType::kStringPair: return reader.ReadBinary(&bytes) && reader.ReadBinary(&bytes);
    case ValueType::kNone: break;
  }
  return false;
}

// Moves `reader` (over a validated property block) to just after the identifier of the
// next property `wanted`. False if there is none.
bool SeekProperty(Reader& reader, PropertyId wanted) {
  while (!reader.empty()) {
    uint32_t id;
    if (!reader.ReadVarInt(&id) || id >= kPropertyIdLimit) return false;
    if (id == wanted) return true;
    if (!SkipValue(reader, kPropertySpecs[id].type)) return false;
  }
  return false;
}

Status DecodeProperties(Reader& reader, Context context, Properties* out) {
  *out = Properties{};
  uint32_t length;
  if (!reader.ReadVarInt(&length)) return Malformed("bad property length");
  std::span<const uint8_t> block;
  if (!reader.ReadBytes(length, &block)) return Malformed("properties overrun the packet");

  Reader props(block);
  uint64_t seen = 0;
  size_t user_property_count = 0;
  size_t subscription_identifier_count = 0;
  while (!props.empty()) {
    uint32_t raw_id;
    if (!props.ReadVarInt(&raw_id)) return Malformed("bad property identifier");
    if (raw_id >= kPropertyIdLimit || kPropertySpecs[raw_id].type == ValueType::kNone) {
      return Malformed("unknown property identifier");
    }
    const auto id = static_cast<PropertyId>(raw_id);
    if (!Allowed(id, context)) return ProtocolError("property not allowed in this packet");
    const bool repeatable =
        id == kUserProperty || (id == kSubscriptionIdentifier && context == kInPublish);
    const uint64_t bit = uint64_t{1} << id;
    if (!repeatable && (seen & bit) != 0) {
      return ProtocolError("property included more than once");
    }
    seen |= bit;

    uint8_t byte = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    std::string_view text;
    std::span<const uint8_t> binary;
    switch (kPropertySpecs[id].type) {
      case ValueType::kByte:
        if (!props.ReadByte(&byte)) return Malformed("property value overruns");
        break;
      case ValueType::kTwoByte:
        if (!props.ReadU16(&u16)) return Malformed("property value overruns");
        break;
      case ValueType::kFourByte:
        if (!props.ReadU32(&u32)) return Malformed("property value overruns");
        break;
      case ValueType::kVarInt:
        if (!props.ReadVarInt(&u32)) return Malformed("bad variable byte integer property");
        break;
      case ValueType::kString: {
        const Status status = props.ReadString(&text);
        if (!status.ok()) return status;
        break;
      }
      case ValueType::kBinary:
        if (!props.ReadBinary(&binary)) return Malformed("property value overruns");
        break;
      case ValueType::kStringPair: {
        Status status = props.ReadString(&text);
        if (status.ok()) status = props.ReadString(&text);
        if (!status.ok()) return status;
        break;
      }
      case ValueType::kNone: return Malformed("unknown property identifier");
    }

    switch (id) {
      case kPayloadFormatIndicator:
        if (byte > 1) return ProtocolError("payload format indicator is not 0 or 1");
        out->payload_format_indicator = byte;
        break;
      case kMessageExpiryInterval: out->message_expiry_interval = u32; break;
      case kContentType: out->content_type = text; break;
      case kResponseTopic:
        if (!ValidateTopicName(text).ok()) {
          return ProtocolError("response topic is not a valid topic name");
        }
        out->response_topic = text;
        break;
      case kCorrelationData: out->correlation_data = binary; break;
      case kSubscriptionIdentifier:
        if (u32 == 0) return ProtocolError("subscription identifier 0");
        ++subscription_identifier_count;
        break;
      case kSessionExpiryInterval: out->session_expiry_interval = u32; break;
      case kAssignedClientIdentifier: out->assigned_client_identifier = text; break;
      case kServerKeepAlive: out->server_keep_alive = u16; break;
      case kAuthenticationMethod: out->authentication_method = text; break;
      case kAuthenticationData: out->authentication_data = binary; break;
      case kRequestProblemInformation:
        if (byte > 1) return ProtocolError("request problem information is not 0 or 1");
        out->request_problem_information = byte == 1;
        break;
      case kWillDelayInterval: out->will_delay_interval = u32; break;
      case kRequestResponseInformation:
        if (byte > 1) return ProtocolError("request response information is not 0 or 1");
        out->request_response_information = byte == 1;
        break;
      case kResponseInformation: out->response_information = text; break;
      case kServerReference: out->server_reference = text; break;
      case kReasonString: out->reason_string = text; break;
      case kReceiveMaximum:
        if (u16 == 0) return ProtocolError("receive maximum 0");
        out->receive_maximum = u16;
        break;
      case kTopicAliasMaximum: out->topic_alias_maximum = u16; break;
      case kTopicAlias:
        if (u16 == 0) return ProtocolError("topic alias 0");
        out->topic_alias = u16;
        break;
      case kMaximumQos:
        if (byte > 1) return ProtocolError("maximum QoS is not 0 or 1");
        out->maximum_qos = byte;
        break;
      case kRetainAvailable:
        if (byte > 1) return ProtocolError("retain available is not 0 or 1");
        out->retain_available = byte == 1;
        break;
      case kUserProperty: ++user_property_count; break;
      case kMaximumPacketSize:
        if (u32 == 0) return ProtocolError("maximum packet size 0");
        out->maximum_packet_size = u32;
        break;
      case kWildcardSubscriptionAvailable:
        if (byte > 1) return ProtocolError("wildcard subscription available is not 0 or 1");
        out->wildcard_subscription_available = byte == 1;
        break;
      case kSubscriptionIdentifierAvailable:
        if (byte > 1) return ProtocolError("subscription identifier available is not 0 or 1");
        out->subscription_identifier_available = byte == 1;
        break;
      case kSharedSubscriptionAvailable:
        if (byte > 1) return ProtocolError("shared subscription available is not 0 or 1");
        out->shared_subscription_available = byte == 1;
        break;
    }
  }
  if (out->authentication_data && !out->authentication_method) {
    return ProtocolError("authentication data without authentication method");
  }
  out->user_properties = WireAccess::FromWire<UserProperties>(block, user_property_count);
  out->subscription_identifiers =
      WireAccess::FromWire<SubscriptionIdentifiers>(block, subscription_identifier_count);
  return kOk;
}

// clang-format off
// ---------------------------------------------------------------------------------------
// Reason codes each packet may carry (MQTT 5.0, 3.x.2.1 of each packet).

bool IsConnackReason(uint8_t code) {
  switch (code) {
    case 0x00: case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86:
    case 0x87: case 0x88: case 0x89: case 0x8A: case 0x8C: case 0x90: case 0x95: case 0x97:
    case 0x99: case 0x9A: case 0x9B: case 0x9C: case 0x9D: case 0x9F:
      return true;
    default:
      return false;
  }
}

bool IsPublishResponseReason(PacketType type, uint8_t code) {
  if (type == PacketType::kPubrel || type == PacketType::kPubcomp) {
    return code == 0x00 || code == 0x92;
  }
  switch (code) {  // PUBACK, PUBREC
    case 0x00: case 0x10: case 0x80: case 0x83: case 0x87: case 0x90: case 0x91: case 0x97:
    case 0x99:
      return true;
    default:
      return false;
  }
}

bool IsSubackReason(Version version, uint8_t code) {
  if (code <= 0x02 || code == 0x80) return true;
  if (version == Version::kV311) return false;
  switch (code) {
    case 0x83: case 0x87: case 0x8F: case 0x91: case 0x97: case 0x9E: case 0xA1: case 0xA2:
      return true;
    default:
      return false;
  }
}

bool IsUnsubackReason(uint8_t code) {
  switch (code) {
    case 0x00: case 0x11: case 0x80: case 0x83: case 0x87: case 0x8F: case 0x91:
      return true;
    default:
      return false;
  }
}

bool IsDisconnectReason(uint8_t code) {
  switch (code) {
    case 0x00: case 0x04: case 0x80: case 0x81: case 0x82: case 0x83: case 0x87: case 0x89:
    case 0x8B: case 0x8D: case 0x8E: case 0x8F: case 0x90: case 0x93: case 0x94: case 0x95:
    case 0x96: case 0x97: case 0x98: case 0x99: case 0x9A: case 0x9B: case 0x9C: case 0x9D:
    case 0x9E: case 0x9F: case 0xA0: case 0xA1: case 0xA2:
      return true;
    default:
      return false;
  }
}

bool IsAuthReason(uint8_t code) { return code == 0x00 || code == 0x18 || code == 0x19; }
// clang-format on

// ---------------------------------------------------------------------------------------
// Decoders

Status ReadPacketId(Reader& reader, uint16_t* packet_id) {
  if (!reader.ReadU16(packet_id)) return Malformed("packet identifier overruns the packet");
  if (*packet_id == 0) return ProtocolError("packet identifier 0");
  return kOk;
}

template <PacketType kType>
Status DecodePublishResponse(Version version, uint8_t flags, std::span<const uint8_t> body,
                             PublishResponse<kType>* out) {
  *out = PublishResponse<kType>{};
  const uint8_t expected_flags = kType == PacketType::kPubrel ? 0x02 : 0x00;
  if (flags != expected_flags) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  Status status = ReadPacketId(reader, &out->packet_id);
  if (!status.ok()) return status;
  if (version == Version::kV311) {
    return reader.empty() ? kOk : Malformed("remaining length must be 2");
  }
  if (reader.empty()) return kOk;  // Success, no properties [MQTT 5.0 3.4.2.1]
  uint8_t code = 0;  // read below: the reader is not empty
  reader.ReadByte(&code);
  if (!IsPublishResponseReason(kType, code)) return ProtocolError("invalid reason code");
  out->reason_code = static_cast<ReasonCode>(code);
  if (reader.empty()) return kOk;
  status = DecodeProperties(reader, kInPublishResponse, &out->properties);
  if (!status.ok()) return status;
  return reader.empty() ? kOk : Malformed("trailing bytes");
}

Status DecodeEmpty(uint8_t flags, std::span<const uint8_t> body) {
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  if (!body.empty()) return Malformed("remaining length must be 0");
  return kOk;
}

// ---------------------------------------------------------------------------------------
// Encoding: one emitter per packet, run twice: once with SizeCounter to size the packet,
// once with ByteWriter to write it. One code path, so the size is always exact.

struct SizeCounter {
  static constexpr bool kCounting = true;
  size_t size = 0;
  bool ok = true;

  void Byte(uint8_t) { ++size; }
  void U16(uint16_t) { size += 2; }
  void U32(uint32_t) { size += 4; }
  void VarInt(uint64_t value) {
    if (value > kMaxVariableByteInteger) ok = false;
    size += VarIntSize(value);
  }
  void Raw(const void*, size_t n) { size += n; }
  void Prefixed(const void*, size_t n) {
    if (n > 65535) ok = false;
    size += 2 + n;
  }
  void Fail() { ok = false; }
};

struct ByteWriter {
  static constexpr bool kCounting = false;
  uint8_t* out;
  size_t size = 0;

  void Byte(uint8_t value) { out[size++] = value; }
  void U16(uint16_t value) {
    out[size] = static_cast<uint8_t>(value >> 8);
    out[size + 1] = static_cast<uint8_t>(value);
    size += 2;
  }
  void U32(uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out[size++] = static_cast<uint8_t>(value >> shift);
  }
  void VarInt(uint64_t value) {
    do {
      uint8_t byte = value & 0x7F;
      value >>= 7;
      if (value != 0) byte |= 0x80;
      out[size++] = byte;
    } while (value != 0);
  }
  void Raw(const void* data, size_t n) {
    if (n != 0) std::memcpy(out + size, data, n);
    size += n;
  }
  void Prefixed(const void* data, size_t n) {
    U16(static_cast<uint16_t>(n));
    Raw(data, n);
  }
  void Fail() {}
};

template <class Out>
void EmitString(Out& out, std::string_view text) {
  out.Prefixed(text.data(), text.size());
}
template <class Out>
void EmitBinary(Out& out, std::span<const uint8_t> bytes) {
  out.Prefixed(bytes.data(), bytes.size());
}

// The properties of `p` allowed in `context`, without the length prefix.
template <class Out>
void EmitProperties(const Properties& p, uint16_t context, Out& out) {
  auto byte_property = [&](PropertyId id, const auto& value) {
    if (value && Allowed(id, context)) {
      out.Byte(id);
      out.Byte(static_cast<uint8_t>(*value));
    }
  };
  auto u16_property = [&](PropertyId id, const std::optional<uint16_t>& value) {
    if (value && Allowed(id, context)) {
      out.Byte(id);
      out.U16(*value);
    }
  };
  auto u32_property = [&](PropertyId id, const std::optional<uint32_t>& value) {
    if (value && Allowed(id, context)) {
      out.Byte(id);
      out.U32(*value);
    }
  };
  auto string_property = [&](PropertyId id, const std::optional<std::string_view>& value) {
    if (value && Allowed(id, context)) {
      out.Byte(id);
      EmitString(out, *value);
    }
  };
  auto binary_property = [&](PropertyId id, const std::optional<std::span<const uint8_t>>& value) {
    if (value && Allowed(id, context)) {
      out.Byte(id);
      EmitBinary(out, *value);
    }
  };

  byte_property(kPayloadFormatIndicator, p.payload_format_indicator);
  u32_property(kMessageExpiryInterval, p.message_expiry_interval);
  string_property(kContentType, p.content_type);
  string_property(kResponseTopic, p.response_topic);
  binary_property(kCorrelationData, p.correlation_data);
  if (Allowed(kSubscriptionIdentifier, context)) {
    for (const uint32_t id : p.subscription_identifiers) {
      out.Byte(kSubscriptionIdentifier);
      out.VarInt(id);
      if (context != kInPublish) break;  // SUBSCRIBE carries at most one
    }
  }
  u32_property(kSessionExpiryInterval, p.session_expiry_interval);
  string_property(kAssignedClientIdentifier, p.assigned_client_identifier);
  u16_property(kServerKeepAlive, p.server_keep_alive);
  string_property(kAuthenticationMethod, p.authentication_method);
  binary_property(kAuthenticationData, p.authentication_data);
  byte_property(kRequestProblemInformation, p.request_problem_information);
  u32_property(kWillDelayInterval, p.will_delay_interval);
  byte_property(kRequestResponseInformation, p.request_response_information);
  string_property(kResponseInformation, p.response_information);
  string_property(kServerReference, p.server_reference);
  string_property(kReasonString, p.reason_string);
  u16_property(kReceiveMaximum, p.receive_maximum);
  u16_property(kTopicAliasMaximum, p.topic_alias_maximum);
  u16_property(kTopicAlias, p.topic_alias);
  byte_property(kMaximumQos, p.maximum_qos);
  byte_property(kRetainAvailable, p.retain_available);
  for (const UserProperty& property : p.user_properties) {
    out.Byte(kUserProperty);
    EmitString(out, property.name);
    EmitString(out, property.value);
  }
  u32_property(kMaximumPacketSize, p.maximum_packet_size);
  byte_property(kWildcardSubscriptionAvailable, p.wildcard_subscription_available);
  byte_property(kSubscriptionIdentifierAvailable, p.subscription_identifier_available);
  byte_property(kSharedSubscriptionAvailable, p.shared_subscription_available);
}

// Size of the properties of `p` allowed in `context`; SIZE_MAX if not representable.
size_t PropertiesSize(const Properties& p, uint16_t context) {
  SizeCounter counter;
  EmitProperties(p, context, counter);
  if (!counter.ok || counter.size > kMaxVariableByteInteger) return SIZE_MAX;
  return counter.size;
}

// Property Length and the properties. `size` is PropertiesSize(p, context).
template <class Out>
void EmitPropertyBlock(const Properties& p, uint16_t context, size_t size, Out& out) {
  if (size == SIZE_MAX) {
    out.Fail();
    return;
  }
  out.VarInt(size);
  if constexpr (Out::kCounting) {
    out.size += size;
  } else {
    EmitProperties(p, context, out);
  }
}

template <class Out>
void EmitPropertyBlock(const Properties& p, uint16_t context, Out& out) {
  EmitPropertyBlock(p, context, PropertiesSize(p, context), out);
}

// Frames a body: sizes it, then writes the fixed header and the body. `unwritten_tail`
// counts bytes the caller sends separately (a PUBLISH payload). out == nullptr: size only.
template <class EmitBody>
size_t EncodeFramed(uint8_t first_byte, size_t unwritten_tail, uint8_t* out,
                    const EmitBody& emit_body) {
  SizeCounter counter;
  emit_body(counter);
  if (!counter.ok) return 0;
  const uint64_t remaining_length = uint64_t{counter.size} + unwritten_tail;
  if (remaining_length > kMaxRemainingLength) return 0;
  const size_t written = 1 + VarIntSize(remaining_length) + counter.size;
  if (out == nullptr) return written;
  ByteWriter writer{out};
  writer.Byte(first_byte);
  writer.VarInt(remaining_length);
  emit_body(writer);
  return writer.size;
}

constexpr uint8_t FirstByte(PacketType type, uint8_t flags) {
  return static_cast<uint8_t>(static_cast<uint8_t>(type) << 4 | flags);
}

size_t EncodeConnect(const Connect& c, Version version, uint8_t* out) {
  if (c.will && c.will->qos > 2) return 0;
  if (version == Version::kV311 && c.password && !c.username) return 0;
  uint8_t connect_flags = 0;
  if (c.username) connect_flags |= 0x80;
  if (c.password) connect_flags |= 0x40;
  if (c.will) {
    connect_flags |= 0x04 | static_cast<uint8_t>(c.will->qos << 3);
    if (c.will->retain) connect_flags |= 0x20;
  }
  if (c.clean_start) connect_flags |= 0x02;
  const bool v5 = version == Version::kV5;
  return EncodeFramed(FirstByte(PacketType::kConnect, 0), 0, out, [&](auto& o) {
    EmitString(o, "MQTT");
    o.Byte(static_cast<uint8_t>(version));
    o.Byte(connect_flags);
    o.U16(c.keep_alive);
    if (v5) EmitPropertyBlock(c.properties, kInConnect, o);
    EmitString(o, c.client_id);
    if (c.will) {
      if (v5) EmitPropertyBlock(c.will->properties, kInWill, o);
      EmitString(o, c.will->topic);
      EmitBinary(o, c.will->payload);
    }
    if (c.username) EmitString(o, *c.username);
    if (c.password) EmitBinary(o, *c.password);
  });
}

size_t EncodeConnack(const Connack& c, Version version, uint8_t* out) {
  return EncodeFramed(FirstByte(PacketType::kConnack, 0), 0, out, [&](auto& o) {
    o.Byte(c.session_present ? 1 : 0);
    if (version == Version::kV311) {
      o.Byte(static_cast<uint8_t>(ToV311ConnackCode(c.reason_code)));
      return;
    }
    o.Byte(static_cast<uint8_t>(c.reason_code));
    EmitPropertyBlock(c.properties, kInConnack, o);
  });
}

// PUBLISH with or without its payload.
size_t EncodePublishImpl(const Publish& p, Version version, bool with_payload, size_t payload_size,
                         uint8_t* out) {
  if (p.qos > 2 || (p.qos > 0 && p.packet_id == 0)) return 0;
  uint8_t flags = static_cast<uint8_t>(p.qos << 1);
  if (p.retain) flags |= 0x01;
  if (p.dup && p.qos > 0) flags |= 0x08;  // QoS 0 must not carry DUP [MQTT-3.3.1-2]
  const size_t tail = with_payload ? 0 : payload_size;
  return EncodeFramed(FirstByte(PacketType::kPublish, flags), tail, out, [&](auto& o) {
    EmitString(o, p.topic);
    if (p.qos > 0) o.U16(p.packet_id);
    if (version == Version::kV5) EmitPropertyBlock(p.properties, kInPublish, o);
    if (with_payload) o.Raw(p.payload.data(), p.payload.size());
  });
}

template <PacketType kType>
size_t EncodePublishResponse(const PublishResponse<kType>& r, Version version, uint8_t* out) {
  if (r.packet_id == 0) return 0;
  const uint8_t flags = kType == PacketType::kPubrel ? 0x02 : 0x00;
  const size_t props_size =
      version == Version::kV5 ? PropertiesSize(r.properties, kInPublishResponse) : 0;
  return EncodeFramed(FirstByte(kType, flags), 0, out, [&](auto& o) {
    o.U16(r.packet_id);
    if (version == Version::kV311) return;
    // The shortest form the spec allows [MQTT 5.0 3.4.2.1, 3.4.2.2.1].
    if (r.reason_code == ReasonCode::kSuccess && props_size == 0) return;
    o.Byte(static_cast<uint8_t>(r.reason_code));
    if (props_size != 0) EmitPropertyBlock(r.properties, kInPublishResponse, props_size, o);
  });
}

size_t EncodeSubscribe(const Subscribe& s, Version version, uint8_t* out) {
  if (s.packet_id == 0 || s.subscriptions.empty()) return 0;
  return EncodeFramed(FirstByte(PacketType::kSubscribe, 0x02), 0, out, [&](auto& o) {
    o.U16(s.packet_id);
    if (version == Version::kV5) EmitPropertyBlock(s.properties, kInSubscribe, o);
    for (const Subscription& sub : s.subscriptions) {
      if (sub.max_qos > 2 || sub.retain_handling > 2) o.Fail();
      EmitString(o, sub.filter);
      uint8_t options = sub.max_qos & 0x03;
      if (version == Version::kV5) {
        if (sub.no_local) options |= 0x04;
        if (sub.retain_as_published) options |= 0x08;
        options |= static_cast<uint8_t>((sub.retain_handling & 0x03) << 4);
      }
      o.Byte(options);
    }
  });
}

size_t EncodeSuback(const Suback& s, Version version, uint8_t* out) {
  if (s.packet_id == 0 || s.reason_codes.empty()) return 0;
  return EncodeFramed(FirstByte(PacketType::kSuback, 0), 0, out, [&](auto& o) {
    o.U16(s.packet_id);
    if (version == Version::kV5) EmitPropertyBlock(s.properties, kInSuback, o);
    for (size_t i = 0; i < s.reason_codes.size(); ++i) {
      const ReasonCode code = s.reason_codes[i];
      o.Byte(version == Version::kV311 ? ToV311SubackCode(code) : static_cast<uint8_t>(code));
    }
  });
}

size_t EncodeUnsubscribe(const Unsubscribe& u, Version version, uint8_t* out) {
  if (u.packet_id == 0 || u.filters.empty()) return 0;
  return EncodeFramed(FirstByte(PacketType::kUnsubscribe, 0x02), 0, out, [&](auto& o) {
    o.U16(u.packet_id);
    if (version == Version::kV5) EmitPropertyBlock(u.properties, kInUnsubscribe, o);
    for (const std::string_view filter : u.filters) EmitString(o, filter);
  });
}

size_t EncodeUnsuback(const Unsuback& u, Version version, uint8_t* out) {
  if (u.packet_id == 0) return 0;
  if (version == Version::kV5 && u.reason_codes.empty()) return 0;
  return EncodeFramed(FirstByte(PacketType::kUnsuback, 0), 0, out, [&](auto& o) {
    o.U16(u.packet_id);
    if (version == Version::kV311) return;
    EmitPropertyBlock(u.properties, kInUnsuback, o);
    for (size_t i = 0; i < u.reason_codes.size(); ++i) {
      o.Byte(static_cast<uint8_t>(u.reason_codes[i]));
    }
  });
}

// DISCONNECT and AUTH: reason code and properties, both omitted when Success and empty.
size_t EncodeReasonOnly(PacketType type, ReasonCode reason, const Properties& properties,
                        uint16_t context, Version version, uint8_t* out) {
  const size_t props_size = version == Version::kV5 ? PropertiesSize(properties, context) : 0;
  return EncodeFramed(FirstByte(type, 0), 0, out, [&](auto& o) {
    if (version == Version::kV311) return;
    if (reason == ReasonCode::kSuccess && props_size == 0) return;
    o.Byte(static_cast<uint8_t>(reason));
    // DISCONNECT may stop after the reason code; AUTH always has a Property Length.
    if (props_size != 0 || type == PacketType::kAuth) {
      EmitPropertyBlock(properties, context, props_size, o);
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Wire-list readers

namespace internal {

size_t ReadNextUserProperty(std::span<const uint8_t> wire, size_t offset, UserProperty* out) {
  Reader reader(wire.subspan(offset));
  *out = UserProperty{};
  if (!SeekProperty(reader, kUserProperty) || !reader.ReadRawString(&out->name) ||
      !reader.ReadRawString(&out->value)) {
    return wire.size();
  }
  return offset + reader.position();
}

size_t ReadNextSubscriptionIdentifier(std::span<const uint8_t> wire, size_t offset, uint32_t* out) {
  Reader reader(wire.subspan(offset));
  *out = 0;
  if (!SeekProperty(reader, kSubscriptionIdentifier) || !reader.ReadVarInt(out)) {
    return wire.size();
  }
  return offset + reader.position();
}

size_t ReadNextSubscription(std::span<const uint8_t> wire, size_t offset, Subscription* out) {
  Reader reader(wire.subspan(offset));
  *out = Subscription{};
  uint8_t options = 0;
  if (!reader.ReadRawString(&out->filter) || !reader.ReadByte(&options)) return wire.size();
  out->max_qos = options & 0x03;
  out->no_local = (options & 0x04) != 0;
  out->retain_as_published = (options & 0x08) != 0;
  out->retain_handling = (options >> 4) & 0x03;
  return offset + reader.position();
}

size_t ReadNextTopicFilter(std::span<const uint8_t> wire, size_t offset, std::string_view* out) {
  Reader reader(wire.subspan(offset));
  *out = {};
  if (!reader.ReadRawString(out)) return wire.size();
  return offset + reader.position();
}

}  // namespace internal

UserProperties UserPropertiesFromWire(std::span<const uint8_t> wire) {
  Reader reader(wire);
  size_t count = 0;
  size_t valid_prefix = 0;
  while (!reader.empty()) {
    uint8_t id;
    std::span<const uint8_t> name;
    std::span<const uint8_t> value;
    if (!reader.ReadByte(&id) || id != kUserProperty || !reader.ReadBinary(&name) ||
        !reader.ReadBinary(&value)) {
      break;
    }
    ++count;
    valid_prefix = reader.position();
  }
  return WireAccess::FromWire<UserProperties>(wire.first(valid_prefix), count);
}

// ---------------------------------------------------------------------------------------
// Framing

Frame PeekFrame(std::span<const uint8_t> buffer, uint32_t max_packet_size) {
  Frame frame;
  if (buffer.empty()) return frame;
  const uint8_t first = buffer[0];
  frame.type = static_cast<PacketType>(first >> 4);
  frame.flags = first & 0x0F;
  if ((first >> 4) == 0) {
    frame.status = FrameStatus::kMalformed;
    return frame;
  }
  uint32_t remaining_length = 0;
  size_t used = 0;
  switch (DecodeVarInt(buffer.subspan(1), &remaining_length, &used)) {
    case VarIntResult::kNeedMore: return frame;
    case VarIntResult::kMalformed: frame.status = FrameStatus::kMalformed; return frame;
    case VarIntResult::kOk: break;
  }
  frame.header_size = static_cast<uint8_t>(1 + used);
  frame.remaining_length = remaining_length;
  if (frame.total_size() > max_packet_size) {
    frame.status = FrameStatus::kTooLarge;
  } else if (buffer.size() < frame.total_size()) {
    frame.status = FrameStatus::kNeedMore;
  } else {
    frame.status = FrameStatus::kComplete;
  }
  return frame;
}

// ---------------------------------------------------------------------------------------
// Decoders

DecodeStatus DecodeConnect(std::span<const uint8_t> body, uint8_t flags, Connect* out) {
  *out = Connect{};
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  std::string_view protocol_name;
  if (!reader.ReadRawString(&protocol_name)) return Malformed("protocol name overruns");
  uint8_t level;
  if (!reader.ReadByte(&level)) return Malformed("protocol level missing");
  out->protocol_level = level;
  if (protocol_name == "MQIsdp") {  // MQTT 3.1
    return {ReasonCode::kUnsupportedProtocolVersion, "MQTT 3.1 is not supported"};
  }
  if (protocol_name != "MQTT") return ProtocolError("protocol name is not MQTT");
  if (level == 4) {
    out->version = Version::kV311;
  } else if (level == 5) {
    out->version = Version::kV5;
  } else {
    return {ReasonCode::kUnsupportedProtocolVersion, "unsupported protocol level"};
  }
  const bool v5 = out->version == Version::kV5;

  uint8_t connect_flags;
  if (!reader.ReadByte(&connect_flags)) return Malformed("connect flags missing");
  if ((connect_flags & 0x01) != 0) return Malformed("CONNECT reserved flag is set");
  const bool has_username = (connect_flags & 0x80) != 0;
  const bool has_password = (connect_flags & 0x40) != 0;
  const bool will_retain = (connect_flags & 0x20) != 0;
  const uint8_t will_qos = (connect_flags >> 3) & 0x03;
  const bool has_will = (connect_flags & 0x04) != 0;
  out->clean_start = (connect_flags & 0x02) != 0;
  if (will_qos == 3) return Malformed("will QoS 3");
  if (!has_will && (will_qos != 0 || will_retain)) {
    return Malformed("will QoS or will retain set without will flag");
  }
  if (!v5 && has_password && !has_username) {
    return Malformed("password flag without user name flag");
  }
  if (!reader.ReadU16(&out->keep_alive)) return Malformed("keep alive missing");

  Status status;
  if (v5) {
    status = DecodeProperties(reader, kInConnect, &out->properties);
    if (!status.ok()) return status;
  }
  status = reader.ReadString(&out->client_id);
  if (!status.ok()) return status;
  if (!v5 && out->client_id.empty() && !out->clean_start) {
    return {ReasonCode::kClientIdentifierNotValid,
            "empty client identifier requires clean session"};
  }
  if (has_will) {
    Will& will = out->will.emplace();
    will.qos = will_qos;
    will.retain = will_retain;
    if (v5) {
      status = DecodeProperties(reader, kInWill, &will.properties);
      if (!status.ok()) return status;
    }
    status = reader.ReadString(&will.topic);
    if (!status.ok()) return status;
    status = ValidateTopicName(will.topic);
    if (!status.ok()) return status;
    if (!reader.ReadBinary(&will.payload)) return Malformed("will payload overruns");
  }
  if (has_username) {
    status = reader.ReadString(&out->username.emplace());
    if (!status.ok()) return status;
  }
  if (has_password) {
    if (!reader.ReadBinary(&out->password.emplace())) return Malformed("password overruns");
  }
  if (!reader.empty()) return Malformed("trailing bytes after CONNECT payload");
  return kOk;
}

DecodeStatus DecodeConnack(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Connack* out) {
  *out = Connack{};
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  uint8_t ack_flags;
  uint8_t code;
  if (!reader.ReadByte(&ack_flags) || !reader.ReadByte(&code)) {
    return Malformed("CONNACK is too short");
  }
  if ((ack_flags & 0xFE) != 0) return Malformed("CONNACK reserved flags are set");
  out->session_present = (ack_flags & 0x01) != 0;
  if (version == Version::kV311) {
    if (code > 0x05) return ProtocolError("reserved CONNACK return code");
    out->reason_code = FromV311ConnackCode(static_cast<V311ConnackCode>(code));
  } else {
    if (!IsConnackReason(code)) return ProtocolError("invalid CONNACK reason code");
    out->reason_code = static_cast<ReasonCode>(code);
    const Status status = DecodeProperties(reader, kInConnack, &out->properties);
    if (!status.ok()) return status;
  }
  if (!reader.empty()) return Malformed("trailing bytes after CONNACK");
  if (out->session_present && out->reason_code != ReasonCode::kSuccess) {
    return ProtocolError("session present with a refusal");
  }
  return kOk;
}

DecodeStatus DecodePublish(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Publish* out) {
  *out = Publish{};
  out->qos = (flags >> 1) & 0x03;
  out->dup = (flags & 0x08) != 0;
  out->retain = (flags & 0x01) != 0;
  if (out->qos == 3) return Malformed("PUBLISH QoS 3");
  if (out->qos == 0 && out->dup) return Malformed("DUP set on a QoS 0 PUBLISH");
  Reader reader(body);
  Status status = reader.ReadString(&out->topic);
  if (!status.ok()) return status;
  if (out->qos > 0) {
    status = ReadPacketId(reader, &out->packet_id);
    if (!status.ok()) return status;
  }
  if (version == Version::kV5) {
    status = DecodeProperties(reader, kInPublish, &out->properties);
    if (!status.ok()) return status;
  }
  if (out->topic.empty()) {
    if (version == Version::kV311) {
      return {ReasonCode::kTopicNameInvalid, "topic name is empty"};
    }
    if (!out->properties.topic_alias) {
      return ProtocolError("empty topic name without topic alias");
    }
  } else {
    status = ValidateTopicName(out->topic);
    if (!status.ok()) return status;
  }
  out->payload = reader.Rest();
  return kOk;
}

DecodeStatus DecodePuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Puback* out) {
  return DecodePublishResponse(version, flags, body, out);
}
DecodeStatus DecodePubrec(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Pubrec* out) {
  return DecodePublishResponse(version, flags, body, out);
}
DecodeStatus DecodePubrel(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Pubrel* out) {
  return DecodePublishResponse(version, flags, body, out);
}
DecodeStatus DecodePubcomp(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Pubcomp* out) {
  return DecodePublishResponse(version, flags, body, out);
}

namespace {
// The variable header shared by SUBSCRIBE, SUBACK and UNSUBSCRIBE: a packet identifier,
// then properties in 5.0.
Status ReadPacketIdAndProperties(Reader& reader, Version version, Context context, uint16_t* packet_id,
                                 Properties* properties) {
  Status status = ReadPacketId(reader, packet_id);
  if (!status.ok() || version != Version::kV5) return status;
  return DecodeProperties(reader, context, properties);
}
}  // namespace

DecodeStatus DecodeSubscribe(Version version, uint8_t flags, std::span<const uint8_t> body,
                             Subscribe* out) {
  *out = Subscribe{};
  if (flags != 0x02) return Malformed("SUBSCRIBE flags must be 0010");
  Reader reader(body);
  Status status = ReadPacketIdAndProperties(reader, version, kInSubscribe, &out->packet_id, &out->properties);
  if (!status.ok()) return status;
  const std::span<const uint8_t> payload = body.subspan(reader.position());
  size_t count = 0;
  while (!reader.empty()) {
    std::string_view filter;
    status = reader.ReadString(&filter);
    if (!status.ok()) return status;
    uint8_t options;
    if (!reader.ReadByte(&options)) return Malformed("subscription options missing");
    const uint8_t reserved_mask = version == Version::kV311 ? 0xFC : 0xC0;
    if ((options & reserved_mask) != 0) return Malformed("reserved subscription option bits set");
    if ((options & 0x03) == 3) return Malformed("subscription QoS 3");
    if (((options >> 4) & 0x03) == 3) return ProtocolError("retain handling 3");
    status = ValidateTopicFilter(filter);
    if (!status.ok()) return status;
    ++count;
  }
  if (count == 0) return ProtocolError("SUBSCRIBE without topic filters");
  out->subscriptions = WireAccess::FromWire<SubscriptionList>(payload, count);
  return kOk;
}

DecodeStatus DecodeSuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Suback* out) {
  *out = Suback{};
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  Status status = ReadPacketIdAndProperties(reader, version, kInSuback, &out->packet_id, &out->properties);
  if (!status.ok()) return status;
  const std::span<const uint8_t> codes = reader.Rest();
  if (codes.empty()) return ProtocolError("SUBACK without reason codes");
  for (const uint8_t code : codes) {
    if (!IsSubackReason(version, code)) return ProtocolError("invalid SUBACK reason code");
  }
  out->reason_codes = WireAccess::CodesFromWire(codes);
  return kOk;
}

DecodeStatus DecodeUnsubscribe(Version version, uint8_t flags, std::span<const uint8_t> body,
                               Unsubscribe* out) {
  *out = Unsubscribe{};
  if (flags != 0x02) return Malformed("UNSUBSCRIBE flags must be 0010");
  Reader reader(body);
  Status status = ReadPacketIdAndProperties(reader, version, kInUnsubscribe, &out->packet_id, &out->properties);
  if (!status.ok()) return status;
  const std::span<const uint8_t> payload = body.subspan(reader.position());
  size_t count = 0;
  while (!reader.empty()) {
    std::string_view filter;
    status = reader.ReadString(&filter);
    if (!status.ok()) return status;
    status = ValidateTopicFilter(filter);
    if (!status.ok()) return status;
    ++count;
  }
  if (count == 0) return ProtocolError("UNSUBSCRIBE without topic filters");
  out->filters = WireAccess::FromWire<TopicFilterList>(payload, count);
  return kOk;
}

DecodeStatus DecodeUnsuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                            Unsuback* out) {
  *out = Unsuback{};
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  Status status = ReadPacketId(reader, &out->packet_id);
  if (!status.ok()) return status;
  if (version == Version::kV311) {
    return reader.empty() ? kOk : Malformed("remaining length must be 2");
  }
  status = DecodeProperties(reader, kInUnsuback, &out->properties);
  if (!status.ok()) return status;
  const std::span<const uint8_t> codes = reader.Rest();
  if (codes.empty()) return ProtocolError("UNSUBACK without reason codes");
  for (const uint8_t code : codes) {
    if (!IsUnsubackReason(code)) return ProtocolError("invalid UNSUBACK reason code");
  }
  out->reason_codes = WireAccess::CodesFromWire(codes);
  return kOk;
}

DecodeStatus DecodePingreq(Version, uint8_t flags, std::span<const uint8_t> body, Pingreq*) {
  return DecodeEmpty(flags, body);
}

DecodeStatus DecodePingresp(Version, uint8_t flags, std::span<const uint8_t> body, Pingresp*) {
  return DecodeEmpty(flags, body);
}

DecodeStatus DecodeDisconnect(Version version, uint8_t flags, std::span<const uint8_t> body,
                              Disconnect* out) {
  *out = Disconnect{};
  if (version == Version::kV311) return DecodeEmpty(flags, body);
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  if (reader.empty()) return kOk;  // Normal disconnection [MQTT 5.0 3.14.2.1]
  uint8_t code = 0;  // read below: the reader is not empty
  reader.ReadByte(&code);
  if (!IsDisconnectReason(code)) return ProtocolError("invalid DISCONNECT reason code");
  out->reason_code = static_cast<ReasonCode>(code);
  if (reader.empty()) return kOk;
  const Status status = DecodeProperties(reader, kInDisconnect, &out->properties);
  if (!status.ok()) return status;
  return reader.empty() ? kOk : Malformed("trailing bytes after DISCONNECT");
}

DecodeStatus DecodeAuth(Version version, uint8_t flags, std::span<const uint8_t> body, Auth* out) {
  *out = Auth{};
  if (version == Version::kV311) return Malformed("AUTH does not exist in MQTT 3.1.1");
  if (flags != 0) return Malformed("reserved fixed-header flags are wrong");
  Reader reader(body);
  if (reader.empty()) return kOk;  // Success, no properties [MQTT 5.0 3.15.2.1]
  uint8_t code = 0;  // read below: the reader is not empty
  reader.ReadByte(&code);
  if (!IsAuthReason(code)) return ProtocolError("invalid AUTH reason code");
  out->reason_code = static_cast<ReasonCode>(code);
  if (reader.empty()) return kOk;
  const Status status = DecodeProperties(reader, kInAuth, &out->properties);
  if (!status.ok()) return status;
  return reader.empty() ? kOk : Malformed("trailing bytes after AUTH");
}

// ---------------------------------------------------------------------------------------
// Encoders

size_t EncodedSize(const Connect& p, Version v) { return EncodeConnect(p, v, nullptr); }
size_t EncodedSize(const Connack& p, Version v) { return EncodeConnack(p, v, nullptr); }
size_t EncodedSize(const Publish& p, Version v) {
  return EncodePublishImpl(p, v, true, 0, nullptr);
}
size_t EncodedSize(const Puback& p, Version v) { return EncodePublishResponse(p, v, nullptr); }
size_t EncodedSize(const Pubrec& p, Version v) { return EncodePublishResponse(p, v, nullptr); }
size_t EncodedSize(const Pubrel& p, Version v) { return EncodePublishResponse(p, v, nullptr); }
size_t EncodedSize(const Pubcomp& p, Version v) { return EncodePublishResponse(p, v, nullptr); }
size_t EncodedSize(const Subscribe& p, Version v) { return EncodeSubscribe(p, v, nullptr); }
size_t EncodedSize(const Suback& p, Version v) { return EncodeSuback(p, v, nullptr); }
size_t EncodedSize(const Unsubscribe& p, Version v) { return EncodeUnsubscribe(p, v, nullptr); }
size_t EncodedSize(const Unsuback& p, Version v) { return EncodeUnsuback(p, v, nullptr); }
size_t EncodedSize(const Pingreq&, Version) { return 2; }
size_t EncodedSize(const Pingresp&, Version) { return 2; }
size_t EncodedSize(const Disconnect& p, Version v) {
  return EncodeReasonOnly(PacketType::kDisconnect, p.reason_code, p.properties, kInDisconnect, v,
                          nullptr);
}
size_t EncodedSize(const Auth& p, Version v) {
  if (v == Version::kV311) return 0;
  return EncodeReasonOnly(PacketType::kAuth, p.reason_code, p.properties, kInAuth, v, nullptr);
}

size_t Encode(const Connect& p, Version v, uint8_t* out) { return EncodeConnect(p, v, out); }
size_t Encode(const Connack& p, Version v, uint8_t* out) { return EncodeConnack(p, v, out); }
size_t Encode(const Publish& p, Version v, uint8_t* out) {
  return EncodePublishImpl(p, v, true, 0, out);
}
size_t Encode(const Puback& p, Version v, uint8_t* out) { return EncodePublishResponse(p, v, out); }
size_t Encode(const Pubrec& p, Version v, uint8_t* out) { return EncodePublishResponse(p, v, out); }
size_t Encode(const Pubrel& p, Version v, uint8_t* out) { return EncodePublishResponse(p, v, out); }
size_t Encode(const Pubcomp& p, Version v, uint8_t* out) {
  return EncodePublishResponse(p, v, out);
}
size_t Encode(const Subscribe& p, Version v, uint8_t* out) { return EncodeSubscribe(p, v, out); }
size_t Encode(const Suback& p, Version v, uint8_t* out) { return EncodeSuback(p, v, out); }
size_t Encode(const Unsubscribe& p, Version v, uint8_t* out) {
  return EncodeUnsubscribe(p, v, out);
}
size_t Encode(const Unsuback& p, Version v, uint8_t* out) { return EncodeUnsuback(p, v, out); }
size_t Encode(const Pingreq&, Version, uint8_t* out) {
  out[0] = FirstByte(PacketType::kPingreq, 0);
  out[1] = 0;
  return 2;
}
size_t Encode(const Pingresp&, Version, uint8_t* out) {
  out[0] = FirstByte(PacketType::kPingresp, 0);
  out[1] = 0;
  return 2;
}
size_t Encode(const Disconnect& p, Version v, uint8_t* out) {
  return EncodeReasonOnly(PacketType::kDisconnect, p.reason_code, p.properties, kInDisconnect, v,
                          out);
}
size_t Encode(const Auth& p, Version v, uint8_t* out) {
  if (v == Version::kV311) return 0;
  return EncodeReasonOnly(PacketType::kAuth, p.reason_code, p.properties, kInAuth, v, out);
}

size_t EncodedPublishHeaderSize(const Publish& packet, Version version, size_t payload_size) {
  return EncodePublishImpl(packet, version, false, payload_size, nullptr);
}

size_t EncodePublishHeader(const Publish& packet, Version version, size_t payload_size,
                           uint8_t* out) {
  return EncodePublishImpl(packet, version, false, payload_size, out);
}

}  // namespace sb::mqtt
