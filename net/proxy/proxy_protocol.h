// PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy's proxy-protocol.txt specifies
// them: a load balancer in front of a listener sends one header first, naming the original
// client and destination addresses.
//
// DetectProxyHeader() decides from the first bytes which version (if any) a connection starts
// with; ParseProxyHeader() reads the whole header. Both are pure functions over the receive
// buffer: no allocation, no state, bounded work (v1 lines are at most 107 bytes; a v2 header is
// at most 16 + 65535 bytes, or less with an explicit limit). The returned ProxyInfo copies the
// addresses, so it outlives the buffer. Safe on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sb::proxy {

// The v2 signature: "\r\n\r\n\0\r\nQUIT\n".
inline constexpr std::array<uint8_t, 12> kV2Signature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                         0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
inline constexpr size_t kMaxV1HeaderBytes = 107;           // including the CRLF
inline constexpr size_t kMaxV2HeaderBytes = 16 + 65535;    // fixed part + largest length

enum class ProxyDetection : uint8_t {
  kV1,        // starts with "PROXY "
  kV2,        // starts with the 12-byte v2 signature
  kNotProxy,  // neither: reject when the listener requires the PROXY protocol
  kNeedMore,  // a prefix of one of them; wait for more bytes
};

[[nodiscard]] ProxyDetection DetectProxyHeader(std::span<const uint8_t> first_bytes);

enum class AddressFamily : uint8_t { kUnspec, kInet, kInet6, kUnix };
enum class Transport : uint8_t { kUnspec, kStream, kDgram };

struct ProxyEndpoint {
  // kInet: the first 4 bytes; kInet6: all 16 (network byte order).
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;  // host byte order
  // kUnix (v2 only): the socket path, up to its first NUL.
  std::array<char, 108> unix_path{};
  uint8_t unix_path_length = 0;

  std::string_view UnixPath() const { return {unix_path.data(), unix_path_length}; }
};

struct ProxyInfo {
  int version = 0;  // 1 or 2
  // True when the header carries no addresses to use: v2 LOCAL (health checks from the proxy
  // itself), v1 "UNKNOWN", or v2 PROXY with the UNSPEC family. The connection's own endpoints
  // apply then, and family is kUnspec.
  bool local = false;
  AddressFamily family = AddressFamily::kUnspec;
  Transport transport = Transport::kUnspec;  // v1 is always TCP (kStream) unless UNKNOWN
  ProxyEndpoint source;
  ProxyEndpoint destination;
};

enum class ProxyParseStatus : uint8_t { kComplete, kNeedMore, kError };

struct ProxyParseResult {
  ProxyParseStatus status = ProxyParseStatus::kNeedMore;
  size_t consumed = 0;     // kComplete: header bytes (the application data follows); else 0
  ProxyInfo info;          // valid when kComplete
  const char* error = "";  // static text, when kError
};

// Parses the PROXY header at the start of `buffer`. Rejects (kError): anything that is neither
// v1 nor v2; a v1 line longer than 107 bytes, with bare LF, double spaces, unknown protocol,
// addresses not of the announced family, ports outside 0..65535 or with leading zeros; a v2
// header with a version other than 2, an unknown command, family or transport, an address block
// shorter than its family needs, malformed TLVs, or a total size above max_v2_bytes. TLVs are
// skipped after their bounds are checked (their content, CRC32C included, is not interpreted).
[[nodiscard]] ProxyParseResult ParseProxyHeader(std::span<const uint8_t> buffer,
                                                size_t max_v2_bytes = kMaxV2HeaderBytes);

// Writes an endpoint as text for logs ("1.2.3.4:80", "[::1]:443", "unix:/path", "unspec") into
// out[0, out_cap); returns the length, or 0 when it does not fit (64 bytes always suffice for
// IP endpoints, 120 for unix paths).
size_t FormatEndpoint(AddressFamily family, const ProxyEndpoint& endpoint, char* out,
                      size_t out_cap);

}  // namespace sb::proxy
