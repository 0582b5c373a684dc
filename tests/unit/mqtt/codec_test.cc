#include "net/mqtt/codec.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/allocation_counter.h"
#include "tests/support/mqtt_decode.h"

namespace sb::mqtt {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr Version kV311 = Version::kV311;
constexpr Version kV5 = Version::kV5;
constexpr uint32_t kNoLimit = UINT32_MAX;

// ---------------------------------------------------------------------------------------
// Byte builders for hand-written packets.

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes Str(std::string_view text) {
  Bytes out = {static_cast<uint8_t>(text.size() >> 8), static_cast<uint8_t>(text.size())};
  for (const char c : text) out.push_back(static_cast<uint8_t>(c));
  return out;
}

Bytes VarInt(uint32_t value) {
  Bytes out;
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
  return out;
}

// Property Length + the properties.
Bytes Props(const Bytes& content) { return Cat({VarInt(content.size()), content}); }

// Fixed header (with computed Remaining Length) + body.
Bytes Packet(uint8_t first_byte, const Bytes& body) {
  return Cat({{first_byte}, VarInt(body.size()), body});
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

Bytes ToBytes(std::span<const uint8_t> bytes) { return Bytes(bytes.begin(), bytes.end()); }

// Uniform decode entry points (DecodeBody) come from tests/support/mqtt_decode.h.

template <class P>
constexpr PacketType kTypeOf = P::kPacketType;
template <>
constexpr PacketType kTypeOf<Connect> = PacketType::kConnect;
template <>
constexpr PacketType kTypeOf<Connack> = PacketType::kConnack;
template <>
constexpr PacketType kTypeOf<Publish> = PacketType::kPublish;
template <>
constexpr PacketType kTypeOf<Subscribe> = PacketType::kSubscribe;
template <>
constexpr PacketType kTypeOf<Suback> = PacketType::kSuback;
template <>
constexpr PacketType kTypeOf<Unsubscribe> = PacketType::kUnsubscribe;
template <>
constexpr PacketType kTypeOf<Unsuback> = PacketType::kUnsuback;
template <>
constexpr PacketType kTypeOf<Pingreq> = PacketType::kPingreq;
template <>
constexpr PacketType kTypeOf<Pingresp> = PacketType::kPingresp;
template <>
constexpr PacketType kTypeOf<Disconnect> = PacketType::kDisconnect;
template <>
constexpr PacketType kTypeOf<Auth> = PacketType::kAuth;

template <class P>
Bytes EncodeToBytes(const P& packet, Version version) {
  const size_t size = EncodedSize(packet, version);
  Bytes out(size + 8, 0xEE);  // canary bytes after the packet
  EXPECT_EQ(Encode(packet, version, out.data()), size);
  for (size_t i = size; i < out.size(); ++i) EXPECT_EQ(out[i], 0xEE) << "wrote past EncodedSize";
  out.resize(size);
  return out;
}

// Frames `bytes` (which must hold exactly one packet) and decodes it as P.
template <class P>
DecodeStatus DecodeWhole(Version version, const Bytes& bytes, P* out) {
  const Frame frame = PeekFrame(bytes, kNoLimit);
  EXPECT_EQ(frame.status, FrameStatus::kComplete);
  EXPECT_EQ(frame.total_size(), bytes.size());
  EXPECT_EQ(frame.type, kTypeOf<P>);
  if (frame.status != FrameStatus::kComplete) return {ReasonCode::kMalformedPacket, "frame"};
  return DecodeBody(version, frame.flags, frame.Body(bytes), out);
}

// Encodes, decodes, and re-encodes to the same bytes. `wire` keeps the bytes `out` views.
template <class P>
void RoundTrip(const P& in, Version version, Bytes* wire, P* out) {
  *wire = EncodeToBytes(in, version);
  ASSERT_FALSE(wire->empty());
  const DecodeStatus status = DecodeWhole(version, *wire, out);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(EncodeToBytes(*out, version), *wire) << "re-encoding is not stable";
}

// Decodes any single packet; the status of the frame or of the decoder.
DecodeStatus DecodeAny(Version version, const Bytes& bytes) {
  const Frame frame = PeekFrame(bytes, kNoLimit);
  if (frame.status != FrameStatus::kComplete) return {ReasonCode::kMalformedPacket, "frame"};
  EXPECT_EQ(frame.total_size(), bytes.size()) << "test packet has extra bytes";
  const auto body = frame.Body(bytes);
  const uint8_t f = frame.flags;
  switch (frame.type) {
    case PacketType::kConnect: {
      Connect p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kConnack: {
      Connack p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPublish: {
      Publish p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPuback: {
      Puback p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPubrec: {
      Pubrec p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPubrel: {
      Pubrel p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPubcomp: {
      Pubcomp p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kSubscribe: {
      Subscribe p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kSuback: {
      Suback p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kUnsubscribe: {
      Unsubscribe p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kUnsuback: {
      Unsuback p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPingreq: {
      Pingreq p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kPingresp: {
      Pingresp p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kDisconnect: {
      Disconnect p;
      return DecodeBody(version, f, body, &p);
    }
    case PacketType::kAuth: {
      Auth p;
      return DecodeBody(version, f, body, &p);
    }
  }
  return {ReasonCode::kMalformedPacket, "unknown type"};
}

// ---------------------------------------------------------------------------------------
// Property fixtures and comparison.

std::optional<Bytes> OptBytes(const std::optional<std::span<const uint8_t>>& value) {
  if (!value) return std::nullopt;
  return ToBytes(*value);
}

std::vector<std::pair<std::string, std::string>> Pairs(const UserProperties& list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const UserProperty& p : list) out.emplace_back(p.name, p.value);
  EXPECT_EQ(out.size(), list.size());
  return out;
}

std::vector<uint32_t> Ids(const SubscriptionIdentifiers& list) {
  std::vector<uint32_t> out(list.begin(), list.end());
  EXPECT_EQ(out.size(), list.size());
  return out;
}

void ExpectSameProperties(const Properties& a, const Properties& b) {
  EXPECT_EQ(a.payload_format_indicator, b.payload_format_indicator);
  EXPECT_EQ(a.message_expiry_interval, b.message_expiry_interval);
  EXPECT_EQ(a.content_type, b.content_type);
  EXPECT_EQ(a.response_topic, b.response_topic);
  EXPECT_EQ(OptBytes(a.correlation_data), OptBytes(b.correlation_data));
  EXPECT_EQ(Ids(a.subscription_identifiers), Ids(b.subscription_identifiers));
  EXPECT_EQ(a.session_expiry_interval, b.session_expiry_interval);
  EXPECT_EQ(a.assigned_client_identifier, b.assigned_client_identifier);
  EXPECT_EQ(a.server_keep_alive, b.server_keep_alive);
  EXPECT_EQ(a.authentication_method, b.authentication_method);
  EXPECT_EQ(OptBytes(a.authentication_data), OptBytes(b.authentication_data));
  EXPECT_EQ(a.request_problem_information, b.request_problem_information);
  EXPECT_EQ(a.will_delay_interval, b.will_delay_interval);
  EXPECT_EQ(a.request_response_information, b.request_response_information);
  EXPECT_EQ(a.response_information, b.response_information);
  EXPECT_EQ(a.server_reference, b.server_reference);
  EXPECT_EQ(a.reason_string, b.reason_string);
  EXPECT_EQ(a.receive_maximum, b.receive_maximum);
  EXPECT_EQ(a.topic_alias_maximum, b.topic_alias_maximum);
  EXPECT_EQ(a.topic_alias, b.topic_alias);
  EXPECT_EQ(a.maximum_qos, b.maximum_qos);
  EXPECT_EQ(a.retain_available, b.retain_available);
  EXPECT_EQ(Pairs(a.user_properties), Pairs(b.user_properties));
  EXPECT_EQ(a.maximum_packet_size, b.maximum_packet_size);
  EXPECT_EQ(a.wildcard_subscription_available, b.wildcard_subscription_available);
  EXPECT_EQ(a.subscription_identifier_available, b.subscription_identifier_available);
  EXPECT_EQ(a.shared_subscription_available, b.shared_subscription_available);
}

const UserProperty kUserProps[] = {{"region", "eu"}, {"trace", "t-1"}, {"region", "us"}};
const uint32_t kSubIds[] = {7, 268'435'455};
const uint8_t kCorrelation[] = {0x01, 0x00, 0xFF};
const uint8_t kAuthData[] = {0xDE, 0xAD};

// Every property set: encoders must keep only those the packet type allows.
Properties AllProperties() {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 3600;
  p.content_type = "application/json";
  p.response_topic = "reply/to/me";
  p.correlation_data = std::span<const uint8_t>(kCorrelation);
  p.subscription_identifiers = kSubIds;
  p.session_expiry_interval = 120;
  p.assigned_client_identifier = "auto-1";
  p.server_keep_alive = 30;
  p.authentication_method = "SCRAM-SHA-1";
  p.authentication_data = std::span<const uint8_t>(kAuthData);
  p.request_problem_information = false;
  p.will_delay_interval = 5;
  p.request_response_information = true;
  p.response_information = "resp/";
  p.server_reference = "other:1883";
  p.reason_string = "because";
  p.receive_maximum = 100;
  p.topic_alias_maximum = 10;
  p.topic_alias = 3;
  p.maximum_qos = 1;
  p.retain_available = false;
  p.user_properties = kUserProps;
  p.maximum_packet_size = 1 << 20;
  p.wildcard_subscription_available = true;
  p.subscription_identifier_available = false;
  p.shared_subscription_available = true;
  return p;
}

// The subset of AllProperties() that MQTT 5.0 table 2-4 allows in each packet.
Properties ExpectedIn(PacketType type, bool will = false) {
  const Properties all = AllProperties();
  Properties p;
  p.user_properties = all.user_properties;  // everywhere
  if (will) {
    p.payload_format_indicator = all.payload_format_indicator;
    p.message_expiry_interval = all.message_expiry_interval;
    p.content_type = all.content_type;
    p.response_topic = all.response_topic;
    p.correlation_data = all.correlation_data;
    p.will_delay_interval = all.will_delay_interval;
    return p;
  }
  switch (type) {
    case PacketType::kConnect:
      p.session_expiry_interval = all.session_expiry_interval;
      p.authentication_method = all.authentication_method;
      p.authentication_data = all.authentication_data;
      p.request_problem_information = all.request_problem_information;
      p.request_response_information = all.request_response_information;
      p.receive_maximum = all.receive_maximum;
      p.topic_alias_maximum = all.topic_alias_maximum;
      p.maximum_packet_size = all.maximum_packet_size;
      break;
    case PacketType::kConnack:
      p.session_expiry_interval = all.session_expiry_interval;
      p.assigned_client_identifier = all.assigned_client_identifier;
      p.server_keep_alive = all.server_keep_alive;
      p.authentication_method = all.authentication_method;
      p.authentication_data = all.authentication_data;
      p.response_information = all.response_information;
      p.server_reference = all.server_reference;
      p.reason_string = all.reason_string;
      p.receive_maximum = all.receive_maximum;
      p.topic_alias_maximum = all.topic_alias_maximum;
      p.maximum_qos = all.maximum_qos;
      p.retain_available = all.retain_available;
      p.maximum_packet_size = all.maximum_packet_size;
      p.wildcard_subscription_available = all.wildcard_subscription_available;
      p.subscription_identifier_available = all.subscription_identifier_available;
      p.shared_subscription_available = all.shared_subscription_available;
      break;
    case PacketType::kPublish:
      p.payload_format_indicator = all.payload_format_indicator;
      p.message_expiry_interval = all.message_expiry_interval;
      p.content_type = all.content_type;
      p.response_topic = all.response_topic;
      p.correlation_data = all.correlation_data;
      p.subscription_identifiers = all.subscription_identifiers;
      p.topic_alias = all.topic_alias;
      break;
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
    case PacketType::kSuback:
    case PacketType::kUnsuback: p.reason_string = all.reason_string; break;
    case PacketType::kSubscribe:
      p.subscription_identifiers = std::span<const uint32_t>(kSubIds, 1);  // at most one
      break;
    case PacketType::kUnsubscribe: break;
    case PacketType::kDisconnect:
      p.session_expiry_interval = all.session_expiry_interval;
      p.server_reference = all.server_reference;
      p.reason_string = all.reason_string;
      break;
    case PacketType::kAuth:
      p.authentication_method = all.authentication_method;
      p.authentication_data = all.authentication_data;
      p.reason_string = all.reason_string;
      break;
    case PacketType::kPingreq:
    case PacketType::kPingresp: break;
  }
  return p;
}

const Properties kNoProperties{};

// ---------------------------------------------------------------------------------------
// Framing

TEST(PeekFrameTest, CompleteAndNeedMore) {
  const Bytes ping = {0xC0, 0x00};
  Frame frame = PeekFrame(ping, kNoLimit);
  EXPECT_EQ(frame.status, FrameStatus::kComplete);
  EXPECT_EQ(frame.type, PacketType::kPingreq);
  EXPECT_EQ(frame.header_size, 2);
  EXPECT_EQ(frame.remaining_length, 0u);

  EXPECT_EQ(PeekFrame(Bytes{}, kNoLimit).status, FrameStatus::kNeedMore);
  EXPECT_EQ(PeekFrame(Bytes{0x30}, kNoLimit).status, FrameStatus::kNeedMore);
  EXPECT_EQ(PeekFrame(Bytes{0x30, 0x80}, kNoLimit).status, FrameStatus::kNeedMore);
  frame = PeekFrame(Bytes{0x32, 0x05, 0x00, 0x01}, kNoLimit);
  EXPECT_EQ(frame.status, FrameStatus::kNeedMore);
  EXPECT_EQ(frame.header_size, 2);  // the header is known before the body arrives
  EXPECT_EQ(frame.remaining_length, 5u);
  EXPECT_EQ(frame.flags, 0x02);

  // Extra bytes after the packet belong to the next one.
  frame = PeekFrame(Bytes{0xD0, 0x00, 0xC0}, kNoLimit);
  EXPECT_EQ(frame.status, FrameStatus::kComplete);
  EXPECT_EQ(frame.total_size(), 2u);
}

TEST(PeekFrameTest, RemainingLengthEncodings) {
  struct Case {
    Bytes header;
    uint32_t value;
  };
  const Case cases[] = {
      {{0x30, 0x00}, 0},
      {{0x30, 0x7F}, 127},
      {{0x30, 0x80, 0x01}, 128},
      {{0x30, 0xFF, 0x7F}, 16'383},
      {{0x30, 0x80, 0x80, 0x01}, 16'384},
      {{0x30, 0xFF, 0xFF, 0x7F}, 2'097'151},
      {{0x30, 0x80, 0x80, 0x80, 0x01}, 2'097'152},
      {{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 268'435'455},
  };
  for (const Case& c : cases) {
    const Frame frame = PeekFrame(c.header, kNoLimit);
    EXPECT_EQ(frame.remaining_length, c.value);
    EXPECT_EQ(frame.header_size, c.header.size());
    EXPECT_EQ(frame.status, c.value == 0 ? FrameStatus::kComplete : FrameStatus::kNeedMore);
  }
}

TEST(PeekFrameTest, Malformed) {
  // Packet type 0 is reserved.
  EXPECT_EQ(PeekFrame(Bytes{0x00, 0x00}, kNoLimit).status, FrameStatus::kMalformed);
  // A fifth Remaining Length byte.
  EXPECT_EQ(PeekFrame(Bytes{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, kNoLimit).status,
            FrameStatus::kMalformed);
  EXPECT_EQ(PeekFrame(Bytes{0x30, 0x80, 0x80, 0x80, 0x80}, kNoLimit).status,
            FrameStatus::kMalformed);
  // Not the minimal number of bytes [MQTT-1.5.5-1].
  EXPECT_EQ(PeekFrame(Bytes{0x30, 0x80, 0x00}, kNoLimit).status, FrameStatus::kMalformed);
  EXPECT_EQ(PeekFrame(Bytes{0x30, 0xFF, 0x80, 0x00}, kNoLimit).status, FrameStatus::kMalformed);
}

TEST(PeekFrameTest, TooLargeIsDecidedFromTheHeaderAlone) {
  // Remaining Length 16383 + 3 header bytes; only the header is here.
  const Bytes header = {0x30, 0xFF, 0x7F};
  EXPECT_EQ(PeekFrame(header, 1000).status, FrameStatus::kTooLarge);
  EXPECT_EQ(PeekFrame(header, 16'386).status, FrameStatus::kNeedMore);  // exactly the limit
  EXPECT_EQ(PeekFrame(header, 16'385).status, FrameStatus::kTooLarge);
  EXPECT_EQ(PeekFrame(Bytes{0xC0, 0x00}, 2).status, FrameStatus::kComplete);
  EXPECT_EQ(PeekFrame(Bytes{0xC0, 0x00}, 1).status, FrameStatus::kTooLarge);
}

// ---------------------------------------------------------------------------------------
// Hand-written packets from the specs' examples

TEST(SpecVectorTest, Connect311) {
  // MQTT 3.1.1 3.1.2.10's variable header (flags 0xCE, keep alive 10) with a payload.
  const Bytes packet = Packet(0x10, Cat({Str("MQTT"),
                                         {0x04, 0xCE, 0x00, 0x0A},
                                         Str("abc"),
                                         Str("w/t"),
                                         Str("hi"),
                                         Str("user"),
                                         Str("pw")}));
  ASSERT_EQ(packet[1], 0x22);
  Connect c;
  ASSERT_TRUE(DecodeWhole(kV311, packet, &c).ok());
  EXPECT_EQ(c.protocol_level, 4);
  EXPECT_EQ(c.version, kV311);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 10);
  EXPECT_EQ(c.client_id, "abc");
  ASSERT_TRUE(c.will.has_value());
  EXPECT_EQ(c.will->topic, "w/t");
  EXPECT_EQ(ToBytes(c.will->payload), ToBytes(AsBytes("hi")));
  EXPECT_EQ(c.will->qos, 1);
  EXPECT_FALSE(c.will->retain);
  EXPECT_EQ(c.username, "user");
  ASSERT_TRUE(c.password.has_value());
  EXPECT_EQ(ToBytes(*c.password), ToBytes(AsBytes("pw")));
  EXPECT_EQ(EncodeToBytes(c, kV311), packet);
}

TEST(SpecVectorTest, Connect5) {
  // MQTT 5.0 3.1.2.12's variable header: flags 0xCE, keep alive 10, Session Expiry 10.
  const Bytes packet = Packet(0x10, Cat({Str("MQTT"),
                                         {0x05, 0xCE, 0x00, 0x0A},
                                         Props({0x11, 0x00, 0x00, 0x00, 0x0A}),
                                         Str("abc"),
                                         Props({}),
                                         Str("w/t"),
                                         Str("hi"),
                                         Str("user"),
                                         Str("pw")}));
  ASSERT_EQ(packet[1], 0x29);
  Connect c;
  ASSERT_TRUE(DecodeWhole(kV5, packet, &c).ok());
  EXPECT_EQ(c.protocol_level, 5);
  EXPECT_EQ(c.version, kV5);
  EXPECT_EQ(c.keep_alive, 10);
  EXPECT_EQ(c.properties.session_expiry_interval, 10u);
  EXPECT_EQ(c.client_id, "abc");
  ASSERT_TRUE(c.will.has_value());
  EXPECT_EQ(c.will->topic, "w/t");
  EXPECT_EQ(c.username, "user");
  EXPECT_EQ(EncodeToBytes(c, kV5), packet);
}

TEST(SpecVectorTest, Connack) {
  Connack c;
  ASSERT_TRUE(DecodeWhole(kV311, Bytes{0x20, 0x02, 0x01, 0x00}, &c).ok());
  EXPECT_TRUE(c.session_present);
  EXPECT_EQ(c.reason_code, ReasonCode::kSuccess);
  ASSERT_TRUE(DecodeWhole(kV311, Bytes{0x20, 0x02, 0x00, 0x05}, &c).ok());
  EXPECT_EQ(c.reason_code, ReasonCode::kNotAuthorized);
  EXPECT_EQ(EncodeToBytes(c, kV311), (Bytes{0x20, 0x02, 0x00, 0x05}));

  ASSERT_TRUE(DecodeWhole(kV5, Bytes{0x20, 0x03, 0x00, 0x00, 0x00}, &c).ok());
  EXPECT_FALSE(c.session_present);
  EXPECT_EQ(EncodeToBytes(Connack{}, kV5), (Bytes{0x20, 0x03, 0x00, 0x00, 0x00}));

  // Topic Alias Maximum 10 and Maximum QoS 1.
  const Bytes with_props = {0x20, 0x08, 0x00, 0x00, 0x05, 0x22, 0x00, 0x0A, 0x24, 0x01};
  ASSERT_TRUE(DecodeWhole(kV5, with_props, &c).ok());
  EXPECT_EQ(c.properties.topic_alias_maximum, 10);
  EXPECT_EQ(c.properties.maximum_qos, 1);
  EXPECT_EQ(EncodeToBytes(c, kV5), with_props);
}

TEST(SpecVectorTest, Publish) {
  // 3.1.1: QoS 1, topic "a/b", packet identifier 10, payload "hi".
  const Bytes v311 = {0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'};
  Publish p;
  ASSERT_TRUE(DecodeWhole(kV311, v311, &p).ok());
  EXPECT_EQ(p.topic, "a/b");
  EXPECT_EQ(p.qos, 1);
  EXPECT_EQ(p.packet_id, 10);
  EXPECT_FALSE(p.retain);
  EXPECT_FALSE(p.dup);
  EXPECT_EQ(ToBytes(p.payload), ToBytes(AsBytes("hi")));
  EXPECT_EQ(EncodeToBytes(p, kV311), v311);

  // 5.0: QoS 0, retain, Payload Format Indicator 1, Content Type "t".
  const Bytes v5 = {0x31, 0x0E, 0x00, 0x03, 'a',  '/', 'b', 0x06,
                    0x01, 0x01, 0x03, 0x00, 0x01, 't', 'h', 'i'};
  ASSERT_TRUE(DecodeWhole(kV5, v5, &p).ok());
  EXPECT_EQ(p.qos, 0);
  EXPECT_TRUE(p.retain);
  EXPECT_EQ(p.properties.payload_format_indicator, 1);
  EXPECT_EQ(p.properties.content_type, "t");
  EXPECT_EQ(ToBytes(p.payload), ToBytes(AsBytes("hi")));
  EXPECT_EQ(EncodeToBytes(p, kV5), v5);
}

TEST(SpecVectorTest, Subscribe) {
  // MQTT 3.1.1 3.8.3.4: packet identifier 10, "a/b" QoS 1, "c/d" QoS 2.
  const Bytes v311 = {0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 'a', '/',
                      'b',  0x01, 0x00, 0x03, 'c',  '/',  'd', 0x02};
  Subscribe s;
  ASSERT_TRUE(DecodeWhole(kV311, v311, &s).ok());
  EXPECT_EQ(s.packet_id, 10);
  ASSERT_EQ(s.subscriptions.size(), 2u);
  std::vector<std::pair<std::string, int>> got;
  for (const Subscription& sub : s.subscriptions) got.emplace_back(sub.filter, sub.max_qos);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a/b", 1}, {"c/d", 2}}));
  EXPECT_EQ(EncodeToBytes(s, kV311), v311);

  // 5.0: Subscription Identifier 1; "a/+" with QoS 1, No Local, Retain As Published,
  // Retain Handling 2 (options 0b00101101).
  const Bytes v5 = {0x82, 0x0B, 0x00, 0x0A, 0x02, 0x0B, 0x01, 0x00, 0x03, 'a', '/', '+', 0x2D};
  ASSERT_TRUE(DecodeWhole(kV5, v5, &s).ok());
  EXPECT_EQ(Ids(s.properties.subscription_identifiers), std::vector<uint32_t>{1});
  ASSERT_EQ(s.subscriptions.size(), 1u);
  const Subscription sub = *s.subscriptions.begin();
  EXPECT_EQ(sub.filter, "a/+");
  EXPECT_EQ(sub.max_qos, 1);
  EXPECT_TRUE(sub.no_local);
  EXPECT_TRUE(sub.retain_as_published);
  EXPECT_EQ(sub.retain_handling, 2);
  EXPECT_EQ(EncodeToBytes(s, kV5), v5);
}

TEST(SpecVectorTest, Suback) {
  // MQTT 3.1.1 3.9.3: granted QoS 0, granted QoS 2, failure.
  const Bytes v311 = {0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80};
  Suback s;
  ASSERT_TRUE(DecodeWhole(kV311, v311, &s).ok());
  ASSERT_EQ(s.reason_codes.size(), 3u);
  EXPECT_EQ(s.reason_codes[0], ReasonCode::kGrantedQos0);
  EXPECT_EQ(s.reason_codes[1], ReasonCode::kGrantedQos2);
  EXPECT_EQ(s.reason_codes[2], ReasonCode::kUnspecifiedError);
  EXPECT_EQ(EncodeToBytes(s, kV311), v311);
}

TEST(SpecVectorTest, EmptyBodies) {
  EXPECT_EQ(EncodeToBytes(Pingreq{}, kV311), (Bytes{0xC0, 0x00}));
  EXPECT_EQ(EncodeToBytes(Pingresp{}, kV5), (Bytes{0xD0, 0x00}));
  EXPECT_EQ(EncodeToBytes(Disconnect{}, kV311), (Bytes{0xE0, 0x00}));
  EXPECT_EQ(EncodeToBytes(Disconnect{}, kV5), (Bytes{0xE0, 0x00}));
  EXPECT_EQ(EncodeToBytes(Auth{}, kV5), (Bytes{0xF0, 0x00}));
  EXPECT_EQ(EncodeToBytes(Puback{.packet_id = 5}, kV5), (Bytes{0x40, 0x02, 0x00, 0x05}));
  EXPECT_EQ(EncodeToBytes(Pubrel{.packet_id = 5}, kV311), (Bytes{0x62, 0x02, 0x00, 0x05}));
  // A reason code without properties stops there (MQTT 5.0 3.4.2.2.1, 3.14.2.2.1).
  EXPECT_EQ(
      EncodeToBytes(Puback{.packet_id = 5, .reason_code = ReasonCode::kNoMatchingSubscribers}, kV5),
      (Bytes{0x40, 0x03, 0x00, 0x05, 0x10}));
  EXPECT_EQ(EncodeToBytes(Disconnect{.reason_code = ReasonCode::kSessionTakenOver}, kV5),
            (Bytes{0xE0, 0x01, 0x8E}));
  // ... and the 3.1.1 encoding drops them.
  EXPECT_EQ(EncodeToBytes(Disconnect{.reason_code = ReasonCode::kSessionTakenOver}, kV311),
            (Bytes{0xE0, 0x00}));
}

// ---------------------------------------------------------------------------------------
// Round trips for every packet type, both versions

class RoundTripTest : public ::testing::TestWithParam<Version> {
 protected:
  bool v5() const { return GetParam() == kV5; }
  const Properties& Expected(PacketType type, bool will = false) {
    expected_ = ExpectedIn(type, will);
    return v5() ? expected_ : kNoProperties;
  }
  Properties expected_;
};

INSTANTIATE_TEST_SUITE_P(BothVersions, RoundTripTest, ::testing::Values(kV311, kV5),
                         [](const auto& info) {
                           return info.param == kV5 ? std::string("V5") : std::string("V311");
                         });

TEST_P(RoundTripTest, Connect) {
  const uint8_t password[] = {0x00, 0xFF, 0x10};
  const uint8_t will_payload[] = {'b', 'y', 'e'};
  Connect in;
  in.clean_start = false;
  in.keep_alive = 65535;
  in.client_id = "device-é-1";
  in.will.emplace();
  in.will->topic = "status/device-1";
  in.will->payload = will_payload;
  in.will->qos = 2;
  in.will->retain = true;
  in.will->properties = AllProperties();
  in.username = "alice";
  in.password = std::span<const uint8_t>(password);
  in.properties = AllProperties();
  Bytes wire;
  Connect out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.version, GetParam());
  EXPECT_EQ(out.protocol_level, static_cast<uint8_t>(GetParam()));
  EXPECT_FALSE(out.clean_start);
  EXPECT_EQ(out.keep_alive, 65535);
  EXPECT_EQ(out.client_id, "device-é-1");
  ASSERT_TRUE(out.will.has_value());
  EXPECT_EQ(out.will->topic, "status/device-1");
  EXPECT_EQ(ToBytes(out.will->payload), ToBytes(will_payload));
  EXPECT_EQ(out.will->qos, 2);
  EXPECT_TRUE(out.will->retain);
  EXPECT_EQ(out.username, "alice");
  EXPECT_EQ(OptBytes(out.password), ToBytes(password));
  ExpectSameProperties(out.properties, Expected(PacketType::kConnect));
  ExpectSameProperties(out.will->properties, Expected(PacketType::kConnect, /*will=*/true));

  // Minimal: no will, no credentials, empty client ID with clean start.
  Connect minimal;
  RoundTrip(Connect{}, GetParam(), &wire, &minimal);
  EXPECT_TRUE(minimal.clean_start);
  EXPECT_TRUE(minimal.client_id.empty());
  EXPECT_FALSE(minimal.will || minimal.username || minimal.password);
}

TEST_P(RoundTripTest, Connack) {
  Connack in{
      .session_present = true, .reason_code = ReasonCode::kSuccess, .properties = AllProperties()};
  Bytes wire;
  Connack out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_TRUE(out.session_present);
  EXPECT_EQ(out.reason_code, ReasonCode::kSuccess);
  ExpectSameProperties(out.properties, Expected(PacketType::kConnack));

  in = Connack{.reason_code = ReasonCode::kBadUserNameOrPassword};
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_FALSE(out.session_present);
  EXPECT_EQ(out.reason_code, ReasonCode::kBadUserNameOrPassword);
}

TEST_P(RoundTripTest, Publish) {
  const uint8_t payload[] = {0x00, 0x01, 0x02, 0xFF};
  for (uint8_t qos = 0; qos <= 2; ++qos) {
    Publish in;
    in.topic = "things/org.acme:lamp-1/things/live/messages/turnOff";
    in.payload = payload;
    in.qos = qos;
    in.packet_id = qos > 0 ? 0xFFFF : 0;
    in.retain = qos == 1;
    in.dup = qos == 2;
    in.properties = AllProperties();
    Bytes wire;
    Publish out;
    RoundTrip(in, GetParam(), &wire, &out);
    EXPECT_EQ(out.topic, in.topic);
    EXPECT_EQ(ToBytes(out.payload), ToBytes(payload));
    EXPECT_EQ(out.qos, qos);
    EXPECT_EQ(out.packet_id, in.packet_id);
    EXPECT_EQ(out.retain, in.retain);
    EXPECT_EQ(out.dup, in.dup);
    ExpectSameProperties(out.properties, Expected(PacketType::kPublish));
  }
  // Empty payload.
  Publish in{.topic = "a"};
  Bytes wire;
  Publish out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_TRUE(out.payload.empty());
}

template <class Ack>
void RoundTripPublishResponse(Version version, ReasonCode reason, const Properties& expected) {
  SCOPED_TRACE(static_cast<int>(Ack::kPacketType));
  Bytes wire;
  Ack out;
  // Full form, then the short forms.
  RoundTrip(Ack{.packet_id = 0x1234, .reason_code = reason, .properties = AllProperties()}, version,
            &wire, &out);
  EXPECT_EQ(out.packet_id, 0x1234);
  EXPECT_EQ(out.reason_code, version == Version::kV5 ? reason : ReasonCode::kSuccess);
  ExpectSameProperties(out.properties, expected);
  RoundTrip(Ack{.packet_id = 1, .reason_code = reason}, version, &wire, &out);
  EXPECT_EQ(wire.size(), version == Version::kV5 ? 5u : 4u);
  RoundTrip(Ack{.packet_id = 1}, version, &wire, &out);
  EXPECT_EQ(wire.size(), 4u);
  EXPECT_EQ(out.reason_code, ReasonCode::kSuccess);
}

TEST_P(RoundTripTest, PublishResponses) {
  const Properties& expected = Expected(PacketType::kPuback);
  RoundTripPublishResponse<Puback>(GetParam(), ReasonCode::kNotAuthorized, expected);
  RoundTripPublishResponse<Pubrec>(GetParam(), ReasonCode::kQuotaExceeded, expected);
  RoundTripPublishResponse<Pubrel>(GetParam(), ReasonCode::kPacketIdentifierNotFound, expected);
  RoundTripPublishResponse<Pubcomp>(GetParam(), ReasonCode::kPacketIdentifierNotFound, expected);
}

TEST_P(RoundTripTest, Subscribe) {
  const Subscription subs[] = {
      {.filter = "sport/tennis/+",
       .max_qos = 2,
       .no_local = true,
       .retain_as_published = true,
       .retain_handling = 1},
      {.filter = "#", .max_qos = 0},
      {.filter = "$SYS/broker/+/load", .max_qos = 1, .retain_handling = 2},
  };
  Subscribe in{.packet_id = 77, .properties = AllProperties(), .subscriptions = subs};
  Bytes wire;
  Subscribe out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.packet_id, 77);
  ExpectSameProperties(out.properties, Expected(PacketType::kSubscribe));
  ASSERT_EQ(out.subscriptions.size(), 3u);
  size_t i = 0;
  for (const Subscription& sub : out.subscriptions) {
    EXPECT_EQ(sub.filter, subs[i].filter);
    EXPECT_EQ(sub.max_qos, subs[i].max_qos);
    // 3.1.1 has only the QoS bits.
    EXPECT_EQ(sub.no_local, v5() && subs[i].no_local);
    EXPECT_EQ(sub.retain_as_published, v5() && subs[i].retain_as_published);
    EXPECT_EQ(sub.retain_handling, v5() ? subs[i].retain_handling : 0);
    ++i;
  }
  EXPECT_EQ(i, 3u);
}

TEST_P(RoundTripTest, Suback) {
  const ReasonCode codes[] = {ReasonCode::kGrantedQos1, ReasonCode::kNotAuthorized,
                              ReasonCode::kGrantedQos0, ReasonCode::kTopicFilterInvalid};
  Suback in{.packet_id = 9, .properties = AllProperties(), .reason_codes = codes};
  Bytes wire;
  Suback out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.packet_id, 9);
  ExpectSameProperties(out.properties, Expected(PacketType::kSuback));
  ASSERT_EQ(out.reason_codes.size(), 4u);
  EXPECT_EQ(out.reason_codes[0], ReasonCode::kGrantedQos1);
  // 3.1.1 knows only "failure" (0x80): SPEC 5's authorisation failure as SUBACK 0x80.
  EXPECT_EQ(out.reason_codes[1], v5() ? ReasonCode::kNotAuthorized : ReasonCode::kUnspecifiedError);
  EXPECT_EQ(out.reason_codes[2], ReasonCode::kGrantedQos0);
  EXPECT_EQ(out.reason_codes[3],
            v5() ? ReasonCode::kTopicFilterInvalid : ReasonCode::kUnspecifiedError);
}

TEST_P(RoundTripTest, Unsubscribe) {
  const std::string_view filters[] = {"a/b", "+/+", "sport/#"};
  Unsubscribe in{.packet_id = 300, .properties = AllProperties(), .filters = filters};
  Bytes wire;
  Unsubscribe out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.packet_id, 300);
  ExpectSameProperties(out.properties, Expected(PacketType::kUnsubscribe));
  EXPECT_EQ(std::vector<std::string_view>(out.filters.begin(), out.filters.end()),
            std::vector<std::string_view>(std::begin(filters), std::end(filters)));
}

TEST_P(RoundTripTest, Unsuback) {
  const ReasonCode codes[] = {ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted};
  Unsuback in{.packet_id = 301, .properties = AllProperties(), .reason_codes = codes};
  Bytes wire;
  Unsuback out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.packet_id, 301);
  ExpectSameProperties(out.properties, Expected(PacketType::kUnsuback));
  if (v5()) {
    ASSERT_EQ(out.reason_codes.size(), 2u);
    EXPECT_EQ(out.reason_codes[1], ReasonCode::kNoSubscriptionExisted);
  } else {
    EXPECT_TRUE(out.reason_codes.empty());
    EXPECT_EQ(wire.size(), 4u);
  }
}

TEST_P(RoundTripTest, PingAndDisconnect) {
  Bytes wire;
  Pingreq ping;
  RoundTrip(Pingreq{}, GetParam(), &wire, &ping);
  Pingresp pong;
  RoundTrip(Pingresp{}, GetParam(), &wire, &pong);

  Disconnect in{.reason_code = ReasonCode::kServerShuttingDown, .properties = AllProperties()};
  Disconnect out;
  RoundTrip(in, GetParam(), &wire, &out);
  EXPECT_EQ(out.reason_code, v5() ? ReasonCode::kServerShuttingDown : ReasonCode::kSuccess);
  ExpectSameProperties(out.properties, Expected(PacketType::kDisconnect));
}

TEST_P(RoundTripTest, Auth) {
  Auth in{.reason_code = ReasonCode::kContinueAuthentication, .properties = AllProperties()};
  if (!v5()) {
    EXPECT_EQ(EncodedSize(in, kV311), 0u);  // AUTH does not exist in 3.1.1
    uint8_t untouched[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    EXPECT_EQ(Encode(in, kV311, untouched), 0u);
    EXPECT_EQ(untouched[0], 0xEE);
    return;
  }
  Bytes wire;
  Auth out;
  RoundTrip(in, kV5, &wire, &out);
  EXPECT_EQ(out.reason_code, ReasonCode::kContinueAuthentication);
  ExpectSameProperties(out.properties, Expected(PacketType::kAuth));
  // Reason only: AUTH keeps its Property Length (0).
  RoundTrip(Auth{.reason_code = ReasonCode::kReAuthenticate}, kV5, &wire, &out);
  EXPECT_EQ(wire, (Bytes{0xF0, 0x02, 0x19, 0x00}));
}

// ---------------------------------------------------------------------------------------
// PUBLISH header for scatter-gather sends

TEST(PublishHeaderTest, HeaderPlusPayloadEqualsWholePacket) {
  std::vector<uint8_t> payload(300, 0xAB);  // two-byte Remaining Length
  for (const Version version : {kV311, kV5}) {
    Publish p{.topic = "dev/1/cmd",
              .payload = payload,
              .packet_id = 42,
              .qos = 1,
              .properties = AllProperties()};
    const Bytes whole = EncodeToBytes(p, version);
    Publish header_only = p;
    header_only.payload = {};  // ignored anyway
    const size_t header_size = EncodedPublishHeaderSize(header_only, version, payload.size());
    ASSERT_GT(header_size, 0u);
    Bytes header(header_size);
    ASSERT_EQ(EncodePublishHeader(header_only, version, payload.size(), header.data()),
              header_size);
    header.insert(header.end(), payload.begin(), payload.end());
    EXPECT_EQ(header, whole);
  }
}

TEST(PublishHeaderTest, RemainingLengthLimit) {
  const Publish p{.topic = "a"};
  const size_t body_without_payload = 3;  // topic length + "a"
  EXPECT_EQ(EncodedPublishHeaderSize(p, kV311, kMaxRemainingLength - body_without_payload),
            1u + 4u + body_without_payload);
  EXPECT_EQ(EncodedPublishHeaderSize(p, kV311, kMaxRemainingLength - body_without_payload + 1), 0u);
}

// ---------------------------------------------------------------------------------------
// Encoder refusals

TEST(EncodeTest, UnrepresentablePacketsEncodeToNothing) {
  const std::string long_text(65536, 'x');
  EXPECT_EQ(EncodedSize(Publish{.topic = long_text}, kV311), 0u);
  EXPECT_GT(EncodedSize(Publish{.topic = std::string_view(long_text).substr(1)}, kV311), 0u);
  EXPECT_EQ(EncodedSize(Publish{.topic = "a", .qos = 3}, kV5), 0u);
  EXPECT_EQ(EncodedSize(Publish{.topic = "a", .qos = 1}, kV5), 0u);  // no packet identifier
  Properties props;
  props.content_type = std::string_view(long_text);
  EXPECT_EQ(EncodedSize(Publish{.topic = "a", .properties = props}, kV5), 0u);
  // ... but 3.1.1 drops the property, so the packet is fine.
  EXPECT_GT(EncodedSize(Publish{.topic = "a", .properties = props}, kV311), 0u);
  const UserProperty huge[] = {{"k", long_text}};
  props = {};
  props.user_properties = huge;
  EXPECT_EQ(EncodedSize(Disconnect{.properties = props}, kV5), 0u);
  const uint32_t bad_id[] = {kMaxVariableByteInteger + 1};
  props = {};
  props.subscription_identifiers = bad_id;
  EXPECT_EQ(EncodedSize(Publish{.topic = "a", .properties = props}, kV5), 0u);

  Connect c;
  c.password = AsBytes("secret");
  EXPECT_EQ(EncodedSize(c, kV311), 0u);  // password without user name
  EXPECT_GT(EncodedSize(c, kV5), 0u);    // allowed in 5.0
  c.will.emplace();
  c.will->topic = "t";
  c.will->qos = 3;
  EXPECT_EQ(EncodedSize(c, kV5), 0u);

  EXPECT_EQ(EncodedSize(Subscribe{.packet_id = 1}, kV5), 0u);  // no subscriptions
  const Subscription bad_qos[] = {{.filter = "a", .max_qos = 3}};
  EXPECT_EQ(EncodedSize(Subscribe{.packet_id = 1, .subscriptions = bad_qos}, kV5), 0u);
  const Subscription ok[] = {{.filter = "a"}};
  EXPECT_EQ(EncodedSize(Subscribe{.packet_id = 0, .subscriptions = ok}, kV5), 0u);
  EXPECT_EQ(EncodedSize(Suback{.packet_id = 1}, kV5), 0u);
  EXPECT_EQ(EncodedSize(Unsubscribe{.packet_id = 1}, kV311), 0u);
  EXPECT_EQ(EncodedSize(Unsuback{.packet_id = 1}, kV5), 0u);
  EXPECT_GT(EncodedSize(Unsuback{.packet_id = 1}, kV311), 0u);
  EXPECT_EQ(EncodedSize(Puback{.packet_id = 0}, kV5), 0u);
}

TEST(EncodeTest, DupIsNeverWrittenForQos0) {
  const Bytes wire = EncodeToBytes(Publish{.topic = "a", .dup = true}, kV5);
  EXPECT_EQ(wire[0], 0x30);
}

TEST(EncodeTest, V311DropsAllProperties) {
  Publish with{.topic = "a/b", .qos = 1, .properties = AllProperties()};
  with.packet_id = 1;
  Publish without{.topic = "a/b", .packet_id = 1, .qos = 1};
  EXPECT_EQ(EncodeToBytes(with, kV311), EncodeToBytes(without, kV311));
  EXPECT_NE(EncodeToBytes(with, kV5), EncodeToBytes(without, kV5));
}

TEST(EncodeTest, RemainingLengthBoundaries) {
  for (const size_t payload_size : {0u, 122u, 123u, 16'378u, 16'379u, 2'097'146u, 2'097'147u}) {
    std::vector<uint8_t> payload(payload_size, 'p');
    const Publish p{.topic = "t/1", .payload = payload};  // body = 5 + payload
    const Bytes wire = EncodeToBytes(p, kV311);
    const Frame frame = PeekFrame(wire, kNoLimit);
    ASSERT_EQ(frame.status, FrameStatus::kComplete) << payload_size;
    EXPECT_EQ(frame.remaining_length, payload_size + 5);
    EXPECT_EQ(frame.total_size(), wire.size());
    Publish out;
    ASSERT_TRUE(DecodeWhole(kV311, wire, &out).ok());
    EXPECT_EQ(out.payload.size(), payload_size);
  }
}

// ---------------------------------------------------------------------------------------
// Reason code helpers

TEST(ReasonCodeTest, V311ConnackMapping) {
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kSuccess), V311ConnackCode::kAccepted);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kUnsupportedProtocolVersion),
            V311ConnackCode::kUnacceptableProtocolVersion);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kClientIdentifierNotValid),
            V311ConnackCode::kIdentifierRejected);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kServerUnavailable), V311ConnackCode::kServerUnavailable);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kServerBusy), V311ConnackCode::kServerUnavailable);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kBadUserNameOrPassword),
            V311ConnackCode::kBadUserNameOrPassword);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kNotAuthorized), V311ConnackCode::kNotAuthorized);
  EXPECT_EQ(ToV311ConnackCode(ReasonCode::kBanned), V311ConnackCode::kNotAuthorized);
  for (int code = 0; code <= 5; ++code) {
    const auto v311 = static_cast<V311ConnackCode>(code);
    EXPECT_EQ(ToV311ConnackCode(FromV311ConnackCode(v311)), v311);
  }
  // Encoding a 5.0 reason for a 3.1.1 client writes the mapped return code.
  EXPECT_EQ(EncodeToBytes(Connack{.reason_code = ReasonCode::kBanned}, kV311),
            (Bytes{0x20, 0x02, 0x00, 0x05}));
  EXPECT_EQ(EncodeToBytes(Connack{.reason_code = ReasonCode::kUnsupportedProtocolVersion}, kV311),
            (Bytes{0x20, 0x02, 0x00, 0x01}));
}

TEST(ReasonCodeTest, NamesAndSuback) {
  EXPECT_STREQ(ReasonCodeName(ReasonCode::kMalformedPacket), "Malformed Packet");
  EXPECT_STREQ(ReasonCodeName(ReasonCode::kNormalDisconnection), "Success");
  EXPECT_STREQ(ReasonCodeName(static_cast<ReasonCode>(0x7F)), "Unknown reason code");
  EXPECT_EQ(ToV311SubackCode(ReasonCode::kGrantedQos2), 0x02);
  EXPECT_EQ(ToV311SubackCode(ReasonCode::kNotAuthorized), 0x80);
}

// ---------------------------------------------------------------------------------------
// Properties

TEST(PropertiesTest, UserPropertiesIterateInOrderAmongOtherProperties) {
  // PUBLISH 5.0 whose property block interleaves user properties with others; names may
  // repeat (MQTT 5.0 3.3.2.3.7).
  const Bytes props = Cat({{0x26},
                           Str("a"),
                           Str("1"),
                           {0x01, 0x01},
                           {0x26},
                           Str("b"),
                           Str(""),
                           {0x0B, 0x80, 0x01},
                           {0x26},
                           Str("a"),
                           Str("2"),
                           {0x0B, 0x05}});
  const Bytes packet = Packet(0x30, Cat({Str("t"), Props(props), {'x'}}));
  Publish p;
  ASSERT_TRUE(DecodeWhole(kV5, packet, &p).ok());
  EXPECT_EQ(p.properties.user_properties.size(), 3u);
  EXPECT_EQ(Pairs(p.properties.user_properties),
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", ""}, {"a", "2"}}));
  EXPECT_EQ(Ids(p.properties.subscription_identifiers), (std::vector<uint32_t>{128, 5}));
  EXPECT_EQ(p.properties.payload_format_indicator, 1);
  EXPECT_EQ(ToBytes(p.payload), Bytes{'x'});
  // Iterators are plain forward iterators: two passes see the same values.
  auto it = p.properties.user_properties.begin();
  auto copy = it;
  ++it;
  EXPECT_EQ(copy->name, "a");
  EXPECT_EQ(it->name, "b");
  EXPECT_EQ((it++)->name, "b");
  EXPECT_EQ(it->value, "2");
  EXPECT_EQ(++it, p.properties.user_properties.end());
}

TEST(PropertiesTest, UserPropertiesFromWireForwardsACopiedRun) {
  const Bytes run = Cat({{0x26}, Str("k"), Str("v"), {0x26}, Str(""), Str("x")});
  Properties props;
  props.user_properties = UserPropertiesFromWire(run);
  EXPECT_EQ(Pairs(props.user_properties),
            (std::vector<std::pair<std::string, std::string>>{{"k", "v"}, {"", "x"}}));
  // Encodes like the same pairs given as an array.
  const UserProperty pairs[] = {{"k", "v"}, {"", "x"}};
  Properties from_array;
  from_array.user_properties = pairs;
  EXPECT_EQ(EncodeToBytes(Disconnect{.properties = props}, kV5),
            EncodeToBytes(Disconnect{.properties = from_array}, kV5));
  EXPECT_TRUE(UserPropertiesFromWire({}).empty());
  // An entry that does not parse ends the list; what came before stays.
  EXPECT_TRUE(UserPropertiesFromWire(Bytes{0x26, 0x00, 0x05, 'a'}).empty());
  EXPECT_TRUE(UserPropertiesFromWire(Cat({{0x1F}, Str("k"), Str("v")})).empty());
  const Bytes cut = Cat({{0x26}, Str("k"), Str("v"), {0x26}, Str("n")});
  EXPECT_EQ(Pairs(UserPropertiesFromWire(cut)),
            (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
}

TEST(PropertiesTest, EmptyBlockDecodesToNothing) {
  Publish p;
  ASSERT_TRUE(DecodeWhole(kV5, Packet(0x30, Cat({Str("t"), Props({})})), &p).ok());
  EXPECT_TRUE(p.properties.user_properties.empty());
  EXPECT_EQ(p.properties.user_properties.begin(), p.properties.user_properties.end());
  EXPECT_FALSE(p.properties.content_type.has_value());
}

TEST(PropertiesTest, DecodeResetsPreviousContent) {
  Publish p;
  ASSERT_TRUE(DecodeWhole(kV5, Packet(0x30, Cat({Str("t"), Props({0x23, 0x00, 0x01})})), &p).ok());
  EXPECT_EQ(p.properties.topic_alias, 1);
  ASSERT_TRUE(DecodeWhole(kV5, Packet(0x30, Cat({Str("t"), Props({})})), &p).ok());
  EXPECT_FALSE(p.properties.topic_alias.has_value());
}

// ---------------------------------------------------------------------------------------
// Malformed packets and protocol errors, each with its reason code

struct BadCase {
  const char* name;
  Version version;
  Bytes packet;
  ReasonCode expected;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadPacketTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPacketTest, IsRejectedWithReason) {
  const BadCase& c = GetParam();
  const DecodeStatus status = DecodeAny(c.version, c.packet);
  EXPECT_EQ(static_cast<int>(status.reason), static_cast<int>(c.expected))
      << c.name << ": " << status.message;
  EXPECT_NE(status.message, nullptr);
}

constexpr ReasonCode kMalformed = ReasonCode::kMalformedPacket;
constexpr ReasonCode kProtocol = ReasonCode::kProtocolError;
constexpr ReasonCode kSuccess = ReasonCode::kSuccess;

Bytes ConnectPacket(Version version, uint8_t flags, const Bytes& properties, const Bytes& payload,
                    uint8_t fixed_flags = 0) {
  Bytes body = Cat({Str("MQTT"), {static_cast<uint8_t>(version), flags, 0x00, 0x3C}});
  if (version == kV5) body = Cat({body, properties});
  return Packet(static_cast<uint8_t>(0x10 | fixed_flags), Cat({body, payload}));
}

Bytes PublishPacket(Version version, uint8_t flags, const Bytes& topic, const Bytes& after_topic,
                    const Bytes& properties = {0x00}) {
  Bytes body = Cat({topic, after_topic});
  if (version == kV5) body = Cat({body, properties});
  return Packet(static_cast<uint8_t>(0x30 | flags), body);
}

const BadCase kBadCases[] = {
    // CONNECT
    {"connect_fixed_flags", kV311, ConnectPacket(kV311, 0x02, {}, Str("c"), 0x01), kMalformed},
    {"connect_protocol_name", kV311,
     Packet(0x10, Cat({Str("MQTX"), {0x04, 0x02, 0x00, 0x3C}, Str("c")})), kProtocol},
    {"connect_level_3", kV311, Packet(0x10, Cat({Str("MQTT"), {0x03, 0x02, 0x00, 0x3C}, Str("c")})),
     ReasonCode::kUnsupportedProtocolVersion},
    {"connect_level_6", kV311, Packet(0x10, Cat({Str("MQTT"), {0x06, 0x02, 0x00, 0x3C}, Str("c")})),
     ReasonCode::kUnsupportedProtocolVersion},
    {"connect_mqisdp", kV311,
     Packet(0x10, Cat({Str("MQIsdp"), {0x03, 0x02, 0x00, 0x3C}, Str("c")})),
     ReasonCode::kUnsupportedProtocolVersion},
    {"connect_reserved_flag", kV311, ConnectPacket(kV311, 0x03, {}, Str("c")), kMalformed},
    {"connect_reserved_flag_v5", kV5, ConnectPacket(kV5, 0x03, {0x00}, Str("c")), kMalformed},
    {"connect_will_qos_3", kV311,
     ConnectPacket(kV311, 0x1E, {}, Cat({Str("c"), Str("t"), Str("m")})), kMalformed},
    {"connect_will_qos_without_will", kV311, ConnectPacket(kV311, 0x0A, {}, Str("c")), kMalformed},
    {"connect_will_retain_without_will", kV5, ConnectPacket(kV5, 0x22, {0x00}, Str("c")),
     kMalformed},
    {"connect_password_without_username_311", kV311,
     ConnectPacket(kV311, 0x42, {}, Cat({Str("c"), Str("pw")})), kMalformed},
    {"connect_password_without_username_5_ok", kV5,
     ConnectPacket(kV5, 0x42, {0x00}, Cat({Str("c"), Str("pw")})), kSuccess},
    {"connect_empty_id_persistent_311", kV311, ConnectPacket(kV311, 0x00, {}, Str("")),
     ReasonCode::kClientIdentifierNotValid},
    {"connect_empty_id_clean_311_ok", kV311, ConnectPacket(kV311, 0x02, {}, Str("")), kSuccess},
    {"connect_empty_id_persistent_5_ok", kV5, ConnectPacket(kV5, 0x00, {0x00}, Str("")), kSuccess},
    {"connect_client_id_bad_utf8", kV311,
     ConnectPacket(kV311, 0x02, {}, Cat({{0x00, 0x02, 0xC3, 0x28}})), kMalformed},
    {"connect_client_id_nul", kV311, ConnectPacket(kV311, 0x02, {}, Cat({{0x00, 0x02, 'a', 0x00}})),
     kMalformed},
    {"connect_client_id_surrogate", kV5,
     ConnectPacket(kV5, 0x02, {0x00}, Cat({{0x00, 0x03, 0xED, 0xA0, 0x80}})), kMalformed},
    {"connect_will_topic_wildcard", kV311,
     ConnectPacket(kV311, 0x06, {}, Cat({Str("c"), Str("a/#"), Str("m")})),
     ReasonCode::kTopicNameInvalid},
    {"connect_will_topic_empty", kV5,
     ConnectPacket(kV5, 0x06, {0x00}, Cat({Str("c"), {0x00}, Str(""), Str("m")})),
     ReasonCode::kTopicNameInvalid},
    {"connect_trailing_bytes", kV311, ConnectPacket(kV311, 0x02, {}, Cat({Str("c"), {0x00}})),
     kMalformed},
    {"connect_truncated_client_id", kV311, ConnectPacket(kV311, 0x02, {}, {0x00, 0x05, 'a'}),
     kMalformed},
    {"connect_missing_username", kV311, ConnectPacket(kV311, 0x82, {}, Str("c")), kMalformed},
    {"connect_truncated_header", kV311, Packet(0x10, Cat({Str("MQTT"), {0x04, 0x02}})), kMalformed},
    {"connect_property_not_allowed", kV5,
     ConnectPacket(kV5, 0x02, Props({0x23, 0x00, 0x01}), Str("c")), kProtocol},
    {"connect_duplicate_property", kV5,
     ConnectPacket(kV5, 0x02, Props({0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2}), Str("c")), kProtocol},
    {"connect_receive_maximum_0", kV5,
     ConnectPacket(kV5, 0x02, Props({0x21, 0x00, 0x00}), Str("c")), kProtocol},
    {"connect_maximum_packet_size_0", kV5,
     ConnectPacket(kV5, 0x02, Props({0x27, 0, 0, 0, 0}), Str("c")), kProtocol},
    {"connect_auth_data_without_method", kV5,
     ConnectPacket(kV5, 0x02, Props(Cat({{0x16}, Str("x")})), Str("c")), kProtocol},
    {"connect_request_problem_information_2", kV5,
     ConnectPacket(kV5, 0x02, Props({0x17, 0x02}), Str("c")), kProtocol},
    {"connect_request_response_information_2", kV5,
     ConnectPacket(kV5, 0x02, Props({0x19, 0x02}), Str("c")), kProtocol},
    {"connect_unknown_property", kV5, ConnectPacket(kV5, 0x02, Props({0x05, 0x00}), Str("c")),
     kMalformed},
    {"connect_property_length_overrun", kV5, ConnectPacket(kV5, 0x02, {0x09, 0x11, 0, 0, 0, 1}, {}),
     kMalformed},
    {"connect_property_value_truncated", kV5,
     ConnectPacket(kV5, 0x02, {0x03, 0x11, 0, 0}, Str("c")), kMalformed},
    {"connect_user_property_bad_utf8", kV5,
     ConnectPacket(kV5, 0x02, Props(Cat({{0x26}, Str("k"), {0x00, 0x01, 0xFF}})), Str("c")),
     kMalformed},
    {"connect_will_property_not_allowed", kV5,
     ConnectPacket(kV5, 0x06, {0x00},
                   Cat({Str("c"), Props({0x11, 0, 0, 0, 1}), Str("t"), Str("m")})),
     kProtocol},
    {"connect_will_payload_format_2", kV5,
     ConnectPacket(kV5, 0x06, {0x00}, Cat({Str("c"), Props({0x01, 0x02}), Str("t"), Str("m")})),
     kProtocol},

    // CONNACK
    {"connack_fixed_flags", kV311, Bytes{0x21, 0x02, 0x00, 0x00}, kMalformed},
    {"connack_reserved_ack_flags", kV311, Bytes{0x20, 0x02, 0x02, 0x00}, kMalformed},
    {"connack_return_code_6", kV311, Bytes{0x20, 0x02, 0x00, 0x06}, kProtocol},
    {"connack_session_present_on_refusal", kV311, Bytes{0x20, 0x02, 0x01, 0x05}, kProtocol},
    {"connack_too_long_311", kV311, Bytes{0x20, 0x03, 0x00, 0x00, 0x00}, kMalformed},
    {"connack_too_short", kV311, Bytes{0x20, 0x01, 0x00}, kMalformed},
    {"connack_v5_missing_properties", kV5, Bytes{0x20, 0x02, 0x00, 0x00}, kMalformed},
    {"connack_v5_invalid_reason", kV5, Bytes{0x20, 0x03, 0x00, 0x10, 0x00}, kProtocol},
    {"connack_v5_maximum_qos_2", kV5, Bytes{0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02}, kProtocol},
    {"connack_v5_retain_available_2", kV5, Bytes{0x20, 0x05, 0x00, 0x00, 0x02, 0x25, 0x02},
     kProtocol},
    {"connack_v5_property_not_allowed", kV5, Bytes{0x20, 0x05, 0x00, 0x00, 0x02, 0x01, 0x00},
     kProtocol},

    // PUBLISH
    {"publish_qos_3", kV311, PublishPacket(kV311, 0x06, Str("a"), {0x00, 0x01}), kMalformed},
    {"publish_dup_qos_0", kV311, PublishPacket(kV311, 0x08, Str("a"), {}), kMalformed},
    {"publish_dup_qos_0_v5", kV5, PublishPacket(kV5, 0x08, Str("a"), {}), kMalformed},
    {"publish_topic_plus", kV311, PublishPacket(kV311, 0x00, Str("a/+"), {}),
     ReasonCode::kTopicNameInvalid},
    {"publish_topic_hash", kV5, PublishPacket(kV5, 0x00, Str("a/#"), {}),
     ReasonCode::kTopicNameInvalid},
    {"publish_topic_empty_311", kV311, PublishPacket(kV311, 0x00, Str(""), {}),
     ReasonCode::kTopicNameInvalid},
    {"publish_topic_empty_no_alias", kV5, PublishPacket(kV5, 0x00, Str(""), {}), kProtocol},
    {"publish_topic_empty_with_alias_ok", kV5,
     PublishPacket(kV5, 0x00, Str(""), {}, Props({0x23, 0x00, 0x01})), kSuccess},
    {"publish_topic_alias_0", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x23, 0x00, 0x00})), kProtocol},
    {"publish_topic_bad_utf8", kV311, PublishPacket(kV311, 0x00, {0x00, 0x01, 0x80}, {}),
     kMalformed},
    {"publish_topic_nul", kV311, PublishPacket(kV311, 0x00, {0x00, 0x01, 0x00}, {}), kMalformed},
    {"publish_topic_truncated", kV311, Bytes{0x30, 0x02, 0x00, 0x05}, kMalformed},
    {"publish_packet_id_0", kV311, PublishPacket(kV311, 0x02, Str("a"), {0x00, 0x00}), kProtocol},
    {"publish_packet_id_missing", kV311, PublishPacket(kV311, 0x02, Str("a"), {0x00}), kMalformed},
    {"publish_payload_format_2", kV5, PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x01, 0x02})),
     kProtocol},
    {"publish_subscription_identifier_0", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x0B, 0x00})), kProtocol},
    {"publish_subscription_identifier_5_bytes", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})),
     kMalformed},
    {"publish_two_subscription_identifiers_ok", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x0B, 0x01, 0x0B, 0x02})), kSuccess},
    {"publish_response_topic_wildcard", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props(Cat({{0x08}, Str("r/+")}))), kProtocol},
    {"publish_property_not_allowed", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x11, 0, 0, 0, 1})), kProtocol},
    {"publish_duplicate_content_type", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props(Cat({{0x03}, Str("x"), {0x03}, Str("y")}))),
     kProtocol},
    {"publish_duplicate_topic_alias", kV5,
     PublishPacket(kV5, 0x00, Str("a"), {}, Props({0x23, 0x00, 0x01, 0x23, 0x00, 0x02})),
     kProtocol},
    {"publish_properties_missing", kV5, Packet(0x30, Str("a")), kMalformed},

    // PUBACK, PUBREC, PUBREL, PUBCOMP
    {"puback_flags", kV311, Bytes{0x42, 0x02, 0x00, 0x01}, kMalformed},
    {"pubrec_flags", kV5, Bytes{0x51, 0x02, 0x00, 0x01}, kMalformed},
    {"pubrel_flags_0", kV311, Bytes{0x60, 0x02, 0x00, 0x01}, kMalformed},
    {"pubcomp_flags", kV5, Bytes{0x72, 0x02, 0x00, 0x01}, kMalformed},
    {"puback_packet_id_0", kV311, Bytes{0x40, 0x02, 0x00, 0x00}, kProtocol},
    {"puback_short", kV5, Bytes{0x40, 0x01, 0x00}, kMalformed},
    {"puback_311_extra_byte", kV311, Bytes{0x40, 0x03, 0x00, 0x01, 0x00}, kMalformed},
    {"puback_invalid_reason", kV5, Bytes{0x40, 0x03, 0x00, 0x01, 0x92}, kProtocol},
    {"pubrel_invalid_reason", kV5, Bytes{0x62, 0x03, 0x00, 0x01, 0x10}, kProtocol},
    {"pubcomp_reason_ok", kV5, Bytes{0x70, 0x03, 0x00, 0x01, 0x92}, kSuccess},
    {"puback_property_not_allowed", kV5,
     Packet(0x40, Cat({{0x00, 0x01, 0x00}, Props(Cat({{0x03}, Str("x")}))})), kProtocol},
    {"puback_duplicate_reason_string", kV5,
     Packet(0x40, Cat({{0x00, 0x01, 0x00}, Props(Cat({{0x1F}, Str("x"), {0x1F}, Str("y")}))})),
     kProtocol},
    {"puback_trailing", kV5, Packet(0x40, Cat({{0x00, 0x01, 0x00}, Props({}), {0x00}})),
     kMalformed},

    // SUBSCRIBE
    {"subscribe_flags_0", kV311, Packet(0x80, Cat({{0x00, 0x01}, Str("a"), {0x00}})), kMalformed},
    {"subscribe_flags_3", kV5, Packet(0x83, Cat({{0x00, 0x01, 0x00}, Str("a"), {0x00}})),
     kMalformed},
    {"subscribe_no_filters", kV311, Packet(0x82, {0x00, 0x01}), kProtocol},
    {"subscribe_no_filters_v5", kV5, Packet(0x82, {0x00, 0x01, 0x00}), kProtocol},
    {"subscribe_packet_id_0", kV311, Packet(0x82, Cat({{0x00, 0x00}, Str("a"), {0x00}})),
     kProtocol},
    {"subscribe_qos_3", kV311, Packet(0x82, Cat({{0x00, 0x01}, Str("a"), {0x03}})), kMalformed},
    {"subscribe_311_reserved_bits", kV311, Packet(0x82, Cat({{0x00, 0x01}, Str("a"), {0x04}})),
     kMalformed},
    {"subscribe_v5_reserved_bits", kV5, Packet(0x82, Cat({{0x00, 0x01, 0x00}, Str("a"), {0x40}})),
     kMalformed},
    {"subscribe_v5_retain_handling_3", kV5,
     Packet(0x82, Cat({{0x00, 0x01, 0x00}, Str("a"), {0x30}})), kProtocol},
    {"subscribe_missing_options", kV311, Packet(0x82, Cat({{0x00, 0x01}, Str("a")})), kMalformed},
    {"subscribe_hash_not_last", kV311, Packet(0x82, Cat({{0x00, 0x01}, Str("a/#/b"), {0x00}})),
     ReasonCode::kTopicFilterInvalid},
    {"subscribe_plus_partial", kV5, Packet(0x82, Cat({{0x00, 0x01, 0x00}, Str("a+"), {0x00}})),
     ReasonCode::kTopicFilterInvalid},
    {"subscribe_empty_filter", kV311, Packet(0x82, Cat({{0x00, 0x01}, Str(""), {0x00}})),
     ReasonCode::kTopicFilterInvalid},
    {"subscribe_second_filter_bad", kV311,
     Packet(0x82, Cat({{0x00, 0x01}, Str("a"), {0x00}, Str("sport/tennis#"), {0x00}})),
     ReasonCode::kTopicFilterInvalid},
    {"subscribe_filter_bad_utf8", kV311,
     Packet(0x82, Cat({{0x00, 0x01, 0x00, 0x01, 0xC0}, {0x00}})), kMalformed},
    {"subscribe_two_subscription_identifiers", kV5,
     Packet(0x82, Cat({{0x00, 0x01}, Props({0x0B, 0x01, 0x0B, 0x02}), Str("a"), {0x00}})),
     kProtocol},
    {"subscribe_subscription_identifier_0", kV5,
     Packet(0x82, Cat({{0x00, 0x01}, Props({0x0B, 0x00}), Str("a"), {0x00}})), kProtocol},
    {"subscribe_property_not_allowed", kV5,
     Packet(0x82, Cat({{0x00, 0x01}, Props({0x23, 0x00, 0x01}), Str("a"), {0x00}})), kProtocol},

    // SUBACK
    {"suback_flags", kV311, Bytes{0x92, 0x03, 0x00, 0x01, 0x00}, kMalformed},
    {"suback_311_code_0x87", kV311, Bytes{0x90, 0x03, 0x00, 0x01, 0x87}, kProtocol},
    {"suback_v5_code_0x87_ok", kV5, Bytes{0x90, 0x04, 0x00, 0x01, 0x00, 0x87}, kSuccess},
    {"suback_code_3", kV5, Bytes{0x90, 0x04, 0x00, 0x01, 0x00, 0x03}, kProtocol},
    {"suback_no_codes", kV311, Bytes{0x90, 0x02, 0x00, 0x01}, kProtocol},

    // UNSUBSCRIBE
    {"unsubscribe_flags_0", kV311, Packet(0xA0, Cat({{0x00, 0x01}, Str("a")})), kMalformed},
    {"unsubscribe_no_filters", kV5, Packet(0xA2, {0x00, 0x01, 0x00}), kProtocol},
    {"unsubscribe_bad_filter", kV311, Packet(0xA2, Cat({{0x00, 0x01}, Str("a/b#")})),
     ReasonCode::kTopicFilterInvalid},
    {"unsubscribe_truncated_filter", kV311, Packet(0xA2, {0x00, 0x01, 0x00, 0x04, 'a'}),
     kMalformed},
    {"unsubscribe_subscription_identifier", kV5,
     Packet(0xA2, Cat({{0x00, 0x01}, Props({0x0B, 0x01}), Str("a")})), kProtocol},

    // UNSUBACK
    {"unsuback_311_extra", kV311, Bytes{0xB0, 0x03, 0x00, 0x01, 0x00}, kMalformed},
    {"unsuback_v5_no_codes", kV5, Bytes{0xB0, 0x03, 0x00, 0x01, 0x00}, kProtocol},
    {"unsuback_v5_invalid_code", kV5, Bytes{0xB0, 0x04, 0x00, 0x01, 0x00, 0x01}, kProtocol},
    {"unsuback_flags", kV5, Bytes{0xB2, 0x04, 0x00, 0x01, 0x00, 0x00}, kMalformed},

    // PINGREQ, PINGRESP
    {"pingreq_flags", kV311, Bytes{0xC1, 0x00}, kMalformed},
    {"pingreq_body", kV5, Bytes{0xC0, 0x01, 0x00}, kMalformed},
    {"pingresp_body", kV311, Bytes{0xD0, 0x01, 0x00}, kMalformed},

    // DISCONNECT
    {"disconnect_311_body", kV311, Bytes{0xE0, 0x01, 0x00}, kMalformed},
    {"disconnect_flags", kV5, Bytes{0xE1, 0x00}, kMalformed},
    {"disconnect_invalid_reason", kV5, Bytes{0xE0, 0x01, 0x01}, kProtocol},
    {"disconnect_property_not_allowed", kV5, Bytes{0xE0, 0x07, 0x00, 0x05, 0x18, 0, 0, 0, 1},
     kProtocol},
    {"disconnect_trailing", kV5, Bytes{0xE0, 0x03, 0x00, 0x00, 0x00}, kMalformed},
    {"disconnect_with_will_ok", kV5, Bytes{0xE0, 0x01, 0x04}, kSuccess},

    // AUTH
    {"auth_311", kV311, Bytes{0xF0, 0x00}, kMalformed},
    {"auth_flags", kV5, Bytes{0xF1, 0x00}, kMalformed},
    {"auth_invalid_reason", kV5, Bytes{0xF0, 0x02, 0x01, 0x00}, kProtocol},
    {"auth_data_without_method", kV5, Packet(0xF0, Cat({{0x18}, Props(Cat({{0x16}, Str("d")}))})),
     kProtocol},
    {"auth_property_not_allowed", kV5, Packet(0xF0, Cat({{0x18}, Props({0x21, 0x00, 0x01})})),
     kProtocol},
};

INSTANTIATE_TEST_SUITE_P(AllCases, BadPacketTest, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// CONNECT failures still tell the server how to answer

TEST(ConnectTest, UnsupportedLevelIsReportedWithTheLevel) {
  const Bytes packet = Packet(0x10, Cat({Str("MQTT"), {0x03, 0x02, 0x00, 0x3C}, Str("c")}));
  Connect c;
  const Frame frame = PeekFrame(packet, kNoLimit);
  EXPECT_EQ(DecodeConnect(frame.Body(packet), frame.flags, &c).reason,
            ReasonCode::kUnsupportedProtocolVersion);
  EXPECT_EQ(c.protocol_level, 3);
}

TEST(ConnectTest, VersionIsKnownWhenALaterFieldFails) {
  const Bytes packet = ConnectPacket(kV5, 0x02, Props({0x21, 0x00, 0x00}), Str("c"));
  Connect c;
  const Frame frame = PeekFrame(packet, kNoLimit);
  EXPECT_EQ(DecodeConnect(frame.Body(packet), frame.flags, &c).reason, ReasonCode::kProtocolError);
  EXPECT_EQ(c.version, kV5);  // so the CONNACK can carry a 5.0 reason code
}

// ---------------------------------------------------------------------------------------
// No allocation on the hot paths

TEST(AllocationTest, DecodeAndEncodeDoNotAllocate) {
  Publish publish{
      .topic = "devices/dev-1/cmd", .packet_id = 9, .qos = 1, .properties = AllProperties()};
  const uint8_t payload[64] = {};
  publish.payload = payload;
  const Bytes publish_wire = EncodeToBytes(publish, kV5);
  const Subscription subs[] = {{.filter = "a/+"}, {.filter = "b/#", .max_qos = 1}};
  const Bytes subscribe_wire = EncodeToBytes(
      Subscribe{.packet_id = 3, .properties = AllProperties(), .subscriptions = subs}, kV5);
  Connect connect;
  connect.client_id = "dev-1";
  connect.username = "u";
  connect.properties = AllProperties();
  const Bytes connect_wire = EncodeToBytes(connect, kV5);
  std::array<uint8_t, 4096> out{};

  testing::AllocationScope scope;
  size_t sink = 0;
  for (int i = 0; i < 100; ++i) {
    Frame frame = PeekFrame(publish_wire, kNoLimit);
    Publish decoded;
    ASSERT_TRUE(DecodePublish(kV5, frame.flags, frame.Body(publish_wire), &decoded).ok());
    for (const UserProperty& p : decoded.properties.user_properties) sink += p.value.size();
    for (const uint32_t id : decoded.properties.subscription_identifiers) sink += id;
    sink += Encode(decoded, kV5, out.data());
    sink += EncodePublishHeader(decoded, kV311, decoded.payload.size(), out.data());
    sink += Encode(Puback{.packet_id = decoded.packet_id}, kV5, out.data());

    frame = PeekFrame(subscribe_wire, kNoLimit);
    Subscribe subscribe;
    ASSERT_TRUE(DecodeSubscribe(kV5, frame.flags, frame.Body(subscribe_wire), &subscribe).ok());
    for (const Subscription& s : subscribe.subscriptions) sink += s.filter.size();
    const ReasonCode granted[] = {ReasonCode::kGrantedQos0, ReasonCode::kGrantedQos1};
    sink += Encode(Suback{.packet_id = 3, .reason_codes = granted}, kV5, out.data());

    frame = PeekFrame(connect_wire, kNoLimit);
    Connect c;
    ASSERT_TRUE(DecodeConnect(frame.Body(connect_wire), frame.flags, &c).ok());
    sink += Encode(Connack{.properties = c.properties}, kV5, out.data());
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_GT(sink, 0u);
}

}  // namespace
}  // namespace sb::mqtt
