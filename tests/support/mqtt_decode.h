// Test support: one decode entry point per MQTT packet type, with the same signature for all,
// so that generic test and fuzz helpers can round-trip any packet (the codec's own decoders
// differ: CONNECT takes no version, the others take it first).
#pragma once

#include <cstdint>
#include <span>

#include "net/mqtt/codec.h"

namespace sb::mqtt {

inline DecodeStatus DecodeBody(Version, uint8_t f, std::span<const uint8_t> b, Connect* o) {
  return DecodeConnect(b, f, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Connack* o) {
  return DecodeConnack(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Publish* o) {
  return DecodePublish(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Puback* o) {
  return DecodePuback(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Pubrec* o) {
  return DecodePubrec(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Pubrel* o) {
  return DecodePubrel(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Pubcomp* o) {
  return DecodePubcomp(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Subscribe* o) {
  return DecodeSubscribe(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Suback* o) {
  return DecodeSuback(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b,
                               Unsubscribe* o) {
  return DecodeUnsubscribe(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Unsuback* o) {
  return DecodeUnsuback(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Pingreq* o) {
  return DecodePingreq(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Pingresp* o) {
  return DecodePingresp(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b,
                               Disconnect* o) {
  return DecodeDisconnect(v, f, b, o);
}
inline DecodeStatus DecodeBody(Version v, uint8_t f, std::span<const uint8_t> b, Auth* o) {
  return DecodeAuth(v, f, b, o);
}

}  // namespace sb::mqtt
