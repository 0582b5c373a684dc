// Fuzzes the MQTT codec with arbitrary bytes, read as a stream of packets for 3.1.1 and
// for 5.0. Every packet that decodes is re-encoded; the re-encoding must frame and decode
// again and re-encode to the same bytes (a stable round trip), and the PUBLISH header
// encoder must agree with the whole-packet encoder. SUBSCRIBE filters and PUBLISH topics
// also drive a TopicTrie, which must agree with TopicMatches. Any disagreement aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "net/mqtt/codec.h"
#include "net/mqtt/topic.h"
#include "net/mqtt/topic_trie.h"
#include "tests/support/mqtt_decode.h"

namespace {

using namespace sb::mqtt;
using Bytes = std::vector<uint8_t>;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "mqtt_codec_fuzz: %s\n", what);
    std::abort();
  }
}

// Walks every lazily decoded list, so the wire iterators run on what the decoder accepted.
size_t TouchProperties(const Properties& p) {
  size_t n = 0;
  for (const UserProperty& u : p.user_properties) n += u.name.size() + u.value.size() + 1;
  for (const uint32_t id : p.subscription_identifiers) {
    Check(id >= 1 && id <= kMaxVariableByteInteger, "subscription identifier out of range");
    ++n;
  }
  return n;
}

Bytes EncodeChecked(const auto& packet, Version version) {
  const size_t size = EncodedSize(packet, version);
  Check(size > 0, "a decoded packet must be encodable");
  Bytes out(size);
  Check(Encode(packet, version, out.data()) == size, "Encode wrote != EncodedSize bytes");
  return out;
}

// decode(bytes) succeeded into `first`: re-encode, decode, re-encode; both encodings match.
template <class P>
void CheckRoundTrip(const P& first, Version version) {
  const Bytes wire = EncodeChecked(first, version);
  const Frame frame = PeekFrame(wire, UINT32_MAX);
  Check(frame.status == FrameStatus::kComplete, "re-encoded packet does not frame");
  Check(frame.total_size() == wire.size(), "re-encoded frame size differs");
  P second;
  const DecodeStatus status = DecodeBody(version, frame.flags, frame.Body(wire), &second);
  if (!status.ok()) std::fprintf(stderr, "re-decode: %s\n", status.message);
  Check(status.ok(), "re-encoded packet does not decode");
  Check(EncodeChecked(second, version) == wire, "round trip is not stable");
}

struct StreamState {
  std::vector<std::string_view> filters;  // views into the fuzz input
  std::vector<std::string_view> topics;
};

template <class P>
void DecodeOne(Version version, const Frame& frame, std::span<const uint8_t> body,
               StreamState& state) {
  P packet;
  const DecodeStatus status = DecodeBody(version, frame.flags, body, &packet);
  Check(status.message != nullptr, "status without message");
  if (!status.ok()) return;
  Version encode_version = version;
  if constexpr (requires { packet.properties; }) TouchProperties(packet.properties);
  if constexpr (std::is_same_v<P, Connect>) {
    encode_version = packet.version;
    if (packet.will) TouchProperties(packet.will->properties);
  }
  if constexpr (std::is_same_v<P, Subscribe>) {
    for (const Subscription& s : packet.subscriptions) {
      Check(ValidateTopicFilter(s.filter).ok(), "decoded filter is invalid");
      state.filters.push_back(s.filter);
    }
  }
  if constexpr (std::is_same_v<P, Unsubscribe>) {
    for (const std::string_view f : packet.filters) {
      Check(ValidateTopicFilter(f).ok(), "decoded filter is invalid");
    }
  }
  if constexpr (std::is_same_v<P, Publish>) {
    if (!packet.topic.empty()) state.topics.push_back(packet.topic);
    // Header + separately sent payload == the whole packet.
    const Bytes whole = EncodeChecked(packet, version);
    const size_t header_size = EncodedPublishHeaderSize(packet, version, packet.payload.size());
    Check(header_size + packet.payload.size() == whole.size(), "publish header size");
    Bytes split(header_size);
    Check(EncodePublishHeader(packet, version, packet.payload.size(), split.data()) == header_size,
          "publish header write");
    split.insert(split.end(), packet.payload.begin(), packet.payload.end());
    Check(split == whole, "publish header + payload != whole packet");
  }
  CheckRoundTrip(packet, encode_version);
}

void DecodeFrame(Version version, const Frame& frame, std::span<const uint8_t> body,
                 StreamState& state) {
  switch (frame.type) {
    case PacketType::kConnect: return DecodeOne<Connect>(version, frame, body, state);
    case PacketType::kConnack: return DecodeOne<Connack>(version, frame, body, state);
    case PacketType::kPublish: return DecodeOne<Publish>(version, frame, body, state);
    case PacketType::kPuback: return DecodeOne<Puback>(version, frame, body, state);
    case PacketType::kPubrec: return DecodeOne<Pubrec>(version, frame, body, state);
    case PacketType::kPubrel: return DecodeOne<Pubrel>(version, frame, body, state);
    case PacketType::kPubcomp: return DecodeOne<Pubcomp>(version, frame, body, state);
    case PacketType::kSubscribe: return DecodeOne<Subscribe>(version, frame, body, state);
    case PacketType::kSuback: return DecodeOne<Suback>(version, frame, body, state);
    case PacketType::kUnsubscribe: return DecodeOne<Unsubscribe>(version, frame, body, state);
    case PacketType::kUnsuback: return DecodeOne<Unsuback>(version, frame, body, state);
    case PacketType::kPingreq: return DecodeOne<Pingreq>(version, frame, body, state);
    case PacketType::kPingresp: return DecodeOne<Pingresp>(version, frame, body, state);
    case PacketType::kDisconnect: return DecodeOne<Disconnect>(version, frame, body, state);
    case PacketType::kAuth: return DecodeOne<Auth>(version, frame, body, state);
  }
  Check(false, "PeekFrame returned an unknown type as complete");
}

// The trie must report exactly the (filter, value) pairs TopicMatches accepts.
void CheckTrie(const StreamState& state) {
  TopicTrie<size_t> trie;
  std::vector<bool> held(state.filters.size(), false);
  for (size_t i = 0; i < state.filters.size(); ++i) {
    if (!TopicTrie<size_t>::CanHold(state.filters[i])) continue;
    held[i] = true;
    trie.Insert(state.filters[i], i);
  }
  for (const std::string_view topic : state.topics) {
    std::vector<size_t> got;
    trie.Match(topic, [&](size_t i) { got.push_back(i); });
    std::vector<size_t> expected;
    for (size_t i = 0; i < state.filters.size(); ++i) {
      if (held[i] && TopicMatches(state.filters[i], topic)) expected.push_back(i);
    }
    std::sort(got.begin(), got.end());
    Check(got == expected, "TopicTrie disagrees with TopicMatches");
  }
  for (size_t i = 0; i < state.filters.size(); ++i) {
    if (held[i]) trie.Erase(state.filters[i], i);
  }
  Check(trie.empty() && trie.has_no_nodes(), "trie not empty after erasing everything");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  for (const Version version : {Version::kV311, Version::kV5}) {
    StreamState state;
    size_t offset = 0;
    for (int packets = 0; packets < 64 && offset < input.size(); ++packets) {
      const auto rest = input.subspan(offset);
      const Frame frame = PeekFrame(rest, 1 << 20);
      if (frame.status != FrameStatus::kComplete) {
        Check(frame.status != FrameStatus::kNeedMore || frame.header_size == 0 ||
                  frame.total_size() > rest.size(),
              "NeedMore although the packet is complete");
        break;
      }
      Check(frame.header_size >= 2 && frame.header_size <= 5, "header size");
      Check(frame.total_size() <= rest.size(), "Complete beyond the buffer");
      DecodeFrame(version, frame, frame.Body(rest), state);
      offset += frame.total_size();
    }
    CheckTrie(state);
  }
  // Validators and matching on raw text never misbehave.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Status name = ValidateTopicName(text, TopicLimits{.max_bytes = 256, .max_levels = 8});
  const Status filter = ValidateTopicFilter(text);
  if (name.ok()) Check(ValidateTopicName(text).ok(), "product limits are stricter");
  if (name.ok()) Check(TopicMatches("#", text) == (text.front() != '$'), "'#' vs name");
  if (filter.ok() && !HasWildcard(text)) {
    Check(ValidateTopicName(text).ok(), "a filter without wildcards is a name");
    Check(TopicMatches(text, text), "a literal filter matches itself");
  }
  const size_t half = size / 2;
  (void)TopicMatches(text.substr(0, half), text.substr(half));
  (void)ValidateClientId(text);
  return 0;
}
