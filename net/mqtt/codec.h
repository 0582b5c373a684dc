// MQTT 3.1.1 (protocol level 4) and 5.0 (level 5) packet codec: bytes in, structs out,
// structs in, bytes out. No sockets, no allocation, nothing else of ours.
//
// Framing: PeekFrame reads the fixed header and says whether a whole packet is in the
// buffer. Decoding: one function per packet type takes the body (the bytes after the fixed
// header) and the fixed-header flags, validates everything the protocol lets a receiver
// check from the packet alone, and fills a struct of views (std::string_view, std::span)
// into the caller's buffer: the buffer must outlive the struct. On failure the function
// returns a reason code (kMalformedPacket, kProtocolError, kUnsupportedProtocolVersion,
// kClientIdentifierNotValid, kTopicNameInvalid, kTopicFilterInvalid) with a static
// message, and the struct holds whatever was decoded before the failure.
// Encoding: EncodedSize(x, version) is the exact size of the packet, and Encode(x, version,
// out) writes exactly that many bytes to out and returns the count. Both return 0 when the
// packet cannot be represented (a string or binary field over 65535 bytes, a remaining
// length over 268,435,455, QoS > 2, a QoS > 0 PUBLISH without packet identifier, a 3.1.1
// password without user name, AUTH in 3.1.1). Properties are written only for 5.0, and
// only those allowed in that packet type; for 3.1.1 they are silently dropped (the server
// relies on this to forward MQTT 5 messages to 3.1.1 receivers).
//
// Decode failures, by reason code:
//   kMalformedPacket    cannot be parsed: overruns, trailing bytes, bad UTF-8 or U+0000, a
//                       bad Variable Byte Integer, an unknown property, reserved bits set
//                       (fixed-header flags, CONNECT bit 0, CONNACK flags, subscription
//                       options), QoS 3 (PUBLISH, will, subscription), DUP on QoS 0, will
//                       QoS/retain without will flag, 3.1.1 password without user name,
//                       AUTH in 3.1.1.
//   kProtocolError      parsed but not allowed: a property not allowed in the packet or
//                       repeated, a bad property value (receive maximum 0, maximum packet
//                       size 0, topic alias 0, subscription identifier 0, a 0/1 property
//                       > 1, response topic not a topic name), authentication data without
//                       method, packet identifier 0, no topic filters / reason codes, a
//                       reason code the packet does not define, retain handling 3, an empty
//                       5.0 topic without topic alias, session present on a refusal, a
//                       protocol name other than "MQTT".
//   kUnsupportedProtocolVersion  CONNECT level other than 4 and 5 (also MQTT 3.1 "MQIsdp").
//   kClientIdentifierNotValid    3.1.1 CONNECT with an empty client ID and clean session 0.
//   kTopicNameInvalid   PUBLISH or will topic with a wildcard, or empty (3.1.1, will).
//   kTopicFilterInvalid SUBSCRIBE / UNSUBSCRIBE filter with a misplaced wildcard, or empty.
//
// What stays with the caller: session state (packet identifiers in use, topic aliases,
// CONNECT-first), direction rules (a client must not send a Subscription Identifier in
// PUBLISH), product limits (client ID length, topic bytes and levels: see topic.h),
// Maximum Packet Size of the peer.
//
// Decoders and encoders are pure functions: no allocation, no global state, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "net/mqtt/reason_code.h"

namespace sb::mqtt {

enum class Version : uint8_t { kV311 = 4, kV5 = 5 };

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};

inline constexpr uint32_t kMaxRemainingLength = 268'435'455;
inline constexpr uint32_t kMaxVariableByteInteger = 268'435'455;
inline constexpr size_t kMaxFixedHeaderSize = 5;

using DecodeStatus = Status;

// ---------------------------------------------------------------------------------------
// Framing

enum class FrameStatus : uint8_t {
  kComplete,   // the whole packet is in the buffer
  kNeedMore,   // read more bytes first
  kMalformed,  // packet type 0, or a bad Remaining Length (5 bytes, or not minimal)
  kTooLarge,   // header_size + remaining_length > max_packet_size; decided from the header
};

struct Frame {
  FrameStatus status = FrameStatus::kNeedMore;
  PacketType type = PacketType::kConnect;  // valid once the first byte was read
  uint8_t flags = 0;                       // the low nibble of the first byte
  uint8_t header_size = 0;                 // 2..5; 0 while the header is incomplete
  uint32_t remaining_length = 0;           // valid when header_size != 0

  size_t total_size() const { return size_t{header_size} + remaining_length; }
  // The packet body inside the buffer PeekFrame looked at. Precondition: kComplete.
  std::span<const uint8_t> Body(std::span<const uint8_t> buffer) const {
    return buffer.subspan(header_size, remaining_length);
  }
};

// Looks at the start of `buffer`. Reads at most 5 bytes; never looks at the body.
Frame PeekFrame(std::span<const uint8_t> buffer, uint32_t max_packet_size);

// ---------------------------------------------------------------------------------------
// Repeated values: views over validated wire bytes, or over the caller's array.

struct UserProperty {
  std::string_view name;
  std::string_view value;
};

// One entry of a SUBSCRIBE payload. no_local, retain_as_published and retain_handling
// exist only in 5.0 and are dropped when encoding 3.1.1.
struct Subscription {
  std::string_view filter;
  uint8_t max_qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;  // 0 send retained, 1 only if new subscription, 2 never
};

namespace internal {
struct WireAccess;
// Each reads one element starting at `offset` of bytes that a decoder validated, and
// returns the offset just past it. The property readers first skip other properties.
size_t ReadNextUserProperty(std::span<const uint8_t> wire, size_t offset, UserProperty* out);
size_t ReadNextSubscriptionIdentifier(std::span<const uint8_t> wire, size_t offset, uint32_t* out);
size_t ReadNextSubscription(std::span<const uint8_t> wire, size_t offset, Subscription* out);
size_t ReadNextTopicFilter(std::span<const uint8_t> wire, size_t offset, std::string_view* out);
}  // namespace internal

// A read-only sequence of T. Built by the caller from its own array (for encoding), or by
// a decoder from validated wire bytes (iterated in place, without allocating). Views only:
// the array or buffer must outlive it.
template <class T, size_t (*kReadNext)(std::span<const uint8_t>, size_t, T*)>
class WireList {
 public:
  WireList() = default;
  WireList(std::span<const T> items) : items_(items), size_(items.size()) {}  // NOLINT
  // Any contiguous range of T the caller keeps alive (std::array, std::vector, T[N]).
  // clang-format off
  template <class Range>
    requires std::is_convertible_v<const Range&, std::span<const T>>
  WireList(const Range& items) : WireList(std::span<const T>(items)) {}  // NOLINT
  // clang-format on

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Yields elements by value (they are small views), so a dereferenced temporary iterator
  // never dangles: a C++20 forward iterator, a legacy input iterator.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T;
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    struct ArrowProxy {
      T value;
      const T* operator->() const { return &value; }
    };

    iterator() = default;
    T operator*() const { return list_->from_wire_ ? value_ : list_->items_[index_]; }
    ArrowProxy operator->() const { return ArrowProxy{**this}; }
    iterator& operator++() {
      ++index_;
      Load();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    friend class WireList;
    iterator(const WireList* list, size_t index) : list_(list), index_(index) { Load(); }
    void Load() {
      if (list_->from_wire_ && index_ < list_->size_) {
        offset_ = kReadNext(list_->wire_, offset_, &value_);
      }
    }
    const WireList* list_ = nullptr;
    size_t index_ = 0;
    size_t offset_ = 0;
    T value_{};
  };

  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size_); }

 private:
  friend struct internal::WireAccess;
  std::span<const T> items_;
  std::span<const uint8_t> wire_;
  size_t size_ = 0;
  bool from_wire_ = false;
};

using UserProperties = WireList<UserProperty, &internal::ReadNextUserProperty>;
using SubscriptionIdentifiers = WireList<uint32_t, &internal::ReadNextSubscriptionIdentifier>;
using SubscriptionList = WireList<Subscription, &internal::ReadNextSubscription>;
using TopicFilterList = WireList<std::string_view, &internal::ReadNextTopicFilter>;

// A list over caller-owned bytes that are a run of User Property entries in wire form
// (0x26, name, value; repeated), e.g. kept from an earlier decode or built by the caller,
// to forward properties without rebuilding an array. The structure is checked, so
// iteration stays inside `wire`; an entry that does not parse ends the list. The strings'
// UTF-8 is not re-checked: validate text from elsewhere with IsValidMqttUtf8. No allocation.
UserProperties UserPropertiesFromWire(std::span<const uint8_t> wire);

// Reason codes of SUBACK / UNSUBACK: wire bytes, or the caller's ReasonCode array.
class ReasonCodeList {
 public:
  ReasonCodeList() = default;
  ReasonCodeList(std::span<const ReasonCode> codes)  // NOLINT
      : bytes_(reinterpret_cast<const uint8_t*>(codes.data())), size_(codes.size()) {}
  // clang-format off
  template <class Range>
    requires std::is_convertible_v<const Range&, std::span<const ReasonCode>>
  ReasonCodeList(const Range& codes)  // NOLINT
      : ReasonCodeList(std::span<const ReasonCode>(codes)) {}
  // clang-format on
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ReasonCode operator[](size_t i) const { return static_cast<ReasonCode>(bytes_[i]); }

 private:
  friend struct internal::WireAccess;
  const uint8_t* bytes_ = nullptr;  // reads ReasonCode objects through their bytes
  size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------
// MQTT 5.0 properties (5.0, 2.2.2.2). Every field is optional; a decoder resets all of
// them. Boolean properties are 0/1 on the wire.

struct Properties {
  std::optional<uint8_t> payload_format_indicator;  // 0 unspecified bytes, 1 UTF-8
  std::optional<uint32_t> message_expiry_interval;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> response_topic;
  std::optional<std::span<const uint8_t>> correlation_data;
  SubscriptionIdentifiers subscription_identifiers;  // many in PUBLISH, one in SUBSCRIBE
  std::optional<uint32_t> session_expiry_interval;
  std::optional<std::string_view> assigned_client_identifier;
  std::optional<uint16_t> server_keep_alive;
  std::optional<std::string_view> authentication_method;
  std::optional<std::span<const uint8_t>> authentication_data;
  std::optional<bool> request_problem_information;
  std::optional<uint32_t> will_delay_interval;
  std::optional<bool> request_response_information;
  std::optional<std::string_view> response_information;
  std::optional<std::string_view> server_reference;
  std::optional<std::string_view> reason_string;
  std::optional<uint16_t> receive_maximum;
  std::optional<uint16_t> topic_alias_maximum;
  std::optional<uint16_t> topic_alias;
  std::optional<uint8_t> maximum_qos;
  std::optional<bool> retain_available;
  UserProperties user_properties;
  std::optional<uint32_t> maximum_packet_size;
  std::optional<bool> wildcard_subscription_available;
  std::optional<bool> subscription_identifier_available;
  std::optional<bool> shared_subscription_available;
};

// ---------------------------------------------------------------------------------------
// Packets

struct Will {
  std::string_view topic;
  std::span<const uint8_t> payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;
};

struct Connect {
  // Set by the decoder as soon as it has read them: protocol_level also on
  // kUnsupportedProtocolVersion, version only when protocol_level is 4 or 5 (so a failed
  // CONNECT can still be answered in the client's format). Encode ignores both and writes
  // the level of its Version argument.
  uint8_t protocol_level = 0;
  Version version = Version::kV5;
  bool clean_start = true;  // "Clean Session" in 3.1.1
  uint16_t keep_alive = 0;
  std::string_view client_id;
  std::optional<Will> will;
  std::optional<std::string_view> username;
  std::optional<std::span<const uint8_t>> password;
  Properties properties;
};

// For 3.1.1, reason_code maps to a return code via ToV311ConnackCode, and back.
struct Connack {
  bool session_present = false;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
};

struct Publish {
  std::string_view topic;  // may be empty in 5.0 when properties.topic_alias is set
  std::span<const uint8_t> payload;
  uint16_t packet_id = 0;  // only for QoS 1 and 2
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  Properties properties;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share a layout. In 3.1.1 only packet_id exists.
template <PacketType kType>
struct PublishResponse {
  static constexpr PacketType kPacketType = kType;
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
};
using Puback = PublishResponse<PacketType::kPuback>;
using Pubrec = PublishResponse<PacketType::kPubrec>;
using Pubrel = PublishResponse<PacketType::kPubrel>;
using Pubcomp = PublishResponse<PacketType::kPubcomp>;

struct Subscribe {
  uint16_t packet_id = 0;
  Properties properties;
  SubscriptionList subscriptions;
};

// In 3.1.1 every failure reason is written as 0x80.
struct Suback {
  uint16_t packet_id = 0;
  Properties properties;
  ReasonCodeList reason_codes;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  Properties properties;
  TopicFilterList filters;
};

// 3.1.1 UNSUBACK has no payload: reason_codes are dropped when encoding, empty when decoding.
struct Unsuback {
  uint16_t packet_id = 0;
  Properties properties;
  ReasonCodeList reason_codes;
};

struct Pingreq {};
struct Pingresp {};

// In 3.1.1 DISCONNECT has no body: reason and properties are dropped.
struct Disconnect {
  ReasonCode reason_code = ReasonCode::kNormalDisconnection;
  Properties properties;
};

// 5.0 only.
struct Auth {
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
};

// ---------------------------------------------------------------------------------------
// Decoding. `body` is Frame::Body(); `flags` is Frame::flags. CONNECT tells its own version.

DecodeStatus DecodeConnect(std::span<const uint8_t> body, uint8_t flags, Connect* out);
DecodeStatus DecodeConnack(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Connack* out);
DecodeStatus DecodePublish(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Publish* out);
DecodeStatus DecodePuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Puback* out);
DecodeStatus DecodePubrec(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Pubrec* out);
DecodeStatus DecodePubrel(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Pubrel* out);
DecodeStatus DecodePubcomp(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Pubcomp* out);
DecodeStatus DecodeSubscribe(Version version, uint8_t flags, std::span<const uint8_t> body,
                             Subscribe* out);
DecodeStatus DecodeSuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                          Suback* out);
DecodeStatus DecodeUnsubscribe(Version version, uint8_t flags, std::span<const uint8_t> body,
                               Unsubscribe* out);
DecodeStatus DecodeUnsuback(Version version, uint8_t flags, std::span<const uint8_t> body,
                            Unsuback* out);
DecodeStatus DecodePingreq(Version version, uint8_t flags, std::span<const uint8_t> body,
                           Pingreq* out);
DecodeStatus DecodePingresp(Version version, uint8_t flags, std::span<const uint8_t> body,
                            Pingresp* out);
DecodeStatus DecodeDisconnect(Version version, uint8_t flags, std::span<const uint8_t> body,
                              Disconnect* out);
DecodeStatus DecodeAuth(Version version, uint8_t flags, std::span<const uint8_t> body, Auth* out);

// ---------------------------------------------------------------------------------------
// Encoding. `out` must hold EncodedSize() bytes.

size_t EncodedSize(const Connect& packet, Version version);
size_t EncodedSize(const Connack& packet, Version version);
size_t EncodedSize(const Publish& packet, Version version);
size_t EncodedSize(const Puback& packet, Version version);
size_t EncodedSize(const Pubrec& packet, Version version);
size_t EncodedSize(const Pubrel& packet, Version version);
size_t EncodedSize(const Pubcomp& packet, Version version);
size_t EncodedSize(const Subscribe& packet, Version version);
size_t EncodedSize(const Suback& packet, Version version);
size_t EncodedSize(const Unsubscribe& packet, Version version);
size_t EncodedSize(const Unsuback& packet, Version version);
size_t EncodedSize(const Pingreq& packet, Version version);
size_t EncodedSize(const Pingresp& packet, Version version);
size_t EncodedSize(const Disconnect& packet, Version version);
size_t EncodedSize(const Auth& packet, Version version);

size_t Encode(const Connect& packet, Version version, uint8_t* out);
size_t Encode(const Connack& packet, Version version, uint8_t* out);
size_t Encode(const Publish& packet, Version version, uint8_t* out);
size_t Encode(const Puback& packet, Version version, uint8_t* out);
size_t Encode(const Pubrec& packet, Version version, uint8_t* out);
size_t Encode(const Pubrel& packet, Version version, uint8_t* out);
size_t Encode(const Pubcomp& packet, Version version, uint8_t* out);
size_t Encode(const Subscribe& packet, Version version, uint8_t* out);
size_t Encode(const Suback& packet, Version version, uint8_t* out);
size_t Encode(const Unsubscribe& packet, Version version, uint8_t* out);
size_t Encode(const Unsuback& packet, Version version, uint8_t* out);
size_t Encode(const Pingreq& packet, Version version, uint8_t* out);
size_t Encode(const Pingresp& packet, Version version, uint8_t* out);
size_t Encode(const Disconnect& packet, Version version, uint8_t* out);
size_t Encode(const Auth& packet, Version version, uint8_t* out);

// PUBLISH without its payload: fixed header (whose Remaining Length counts payload_size
// bytes), topic, packet identifier and properties. packet.payload is ignored. The payload
// follows from another buffer (writev), so one payload can go to many receivers.
size_t EncodedPublishHeaderSize(const Publish& packet, Version version, size_t payload_size);
size_t EncodePublishHeader(const Publish& packet, Version version, size_t payload_size,
                           uint8_t* out);

}  // namespace sb::mqtt
