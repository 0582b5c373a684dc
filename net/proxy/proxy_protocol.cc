#include "net/proxy/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

namespace sb::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";

// Sizes of the v2 address blocks (section 2.2): two addresses and, for IP, two ports.
constexpr size_t kV2InetBlock = 4 + 4 + 2 + 2;
constexpr size_t kV2Inet6Block = 16 + 16 + 2 + 2;
constexpr size_t kV2UnixBlock = 108 + 108;
constexpr size_t kV2FixedBytes = 16;
constexpr size_t kTlvHeaderBytes = 3;

ProxyParseResult Error(const char* reason) {
  ProxyParseResult result;
  result.status = ProxyParseStatus::kError;
  result.error = reason;
  return result;
}

// True when `buffer` and `pattern` agree on their common prefix.
bool MatchesPrefix(std::span<const uint8_t> buffer, std::span<const uint8_t> pattern) {
  const size_t n = std::min(buffer.size(), pattern.size());
  return std::memcmp(buffer.data(), pattern.data(), n) == 0;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Decimal 0..65535 without sign or leading zeros.
std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// Dotted quad, each part 0..255 without leading zeros (which some parsers read as octal).
bool ParseIpv4(std::string_view text, uint8_t* out) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text[0] != '.') return false;
      text.remove_prefix(1);
    }
    size_t digits = 0;
    uint32_t value = 0;
    while (digits < text.size() && digits < 4 && text[digits] >= '0' && text[digits] <= '9') {
      value = value * 10 + static_cast<uint32_t>(text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text[0] == '0')) return false;
    out[part] = static_cast<uint8_t>(value);
    text.remove_prefix(digits);
  }
  return text.empty();
}

bool ParseIpv6(std::string_view text, uint8_t* out) {
  // Longest textual IPv6 address (with an embedded IPv4 part) is 45 characters.
  char terminated[46];
  if (text.empty() || text.size() >= sizeof terminated) return false;
  for (char c : text) {
    const bool allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                         (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!allowed) return false;
  }
  std::memcpy(terminated, text.data(), text.size());
  terminated[text.size()] = '\0';
  return inet_pton(AF_INET6, terminated, out) == 1;
}

// Splits off the text before the next single space; empty fields (double spaces) fail later.
std::string_view NextField(std::string_view* rest) {
  const size_t space = rest->find(' ');
  const std::string_view field = rest->substr(0, space);
  *rest = space == std::string_view::npos ? std::string_view() : rest->substr(space + 1);
  return field;
}

// Section 2.1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, or
// "PROXY UNKNOWN" followed by anything up to CRLF.
ProxyParseResult ParseV1(std::span<const uint8_t> buffer) {
  const std::string_view text(reinterpret_cast<const char*>(buffer.data()),
                              std::min(buffer.size(), kMaxV1HeaderBytes));
  const size_t lf = text.find('\n');
  if (lf == std::string_view::npos) {
    if (text.size() == kMaxV1HeaderBytes) return Error("v1 header longer than 107 bytes");
    ProxyParseResult result;
    result.status = ProxyParseStatus::kNeedMore;
    return result;
  }
  if (lf == 0 || text[lf - 1] != '\r') return Error("v1 header not terminated by CRLF");
  std::string_view rest = text.substr(kV1Prefix.size(), lf - 1 - kV1Prefix.size());
  for (char c : rest) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return Error("invalid character in v1 header");
    }
  }

  ProxyParseResult result;
  result.status = ProxyParseStatus::kComplete;
  result.consumed = lf + 1;
  result.info.version = 1;
  const std::string_view protocol = NextField(&rest);
  if (protocol == "UNKNOWN") {
    // The receiver must ignore whatever follows UNKNOWN (section 2.1).
    result.info.local = true;
    return result;
  }
  AddressFamily family;
  if (protocol == "TCP4") {
    family = AddressFamily::kInet;
  } else if (protocol == "TCP6") {
    family = AddressFamily::kInet6;
  } else {
    return Error("unknown v1 protocol");
  }
  if (rest.empty()) return Error("v1 header without addresses");
  const std::string_view source = NextField(&rest);
  const std::string_view destination = NextField(&rest);
  const std::string_view source_port = NextField(&rest);
  const std::string_view destination_port = rest;  // the last field: no space may follow

  ProxyInfo& info = result.info;
  info.family = family;
  info.transport = Transport::kStream;
  const bool addresses_ok =
      family == AddressFamily::kInet
          ? ParseIpv4(source, info.source.ip.data()) &&
                ParseIpv4(destination, info.destination.ip.data())
          : ParseIpv6(source, info.source.ip.data()) &&
                ParseIpv6(destination, info.destination.ip.data());
  if (!addresses_ok) return Error("invalid v1 address");
  const auto sport = ParsePort(source_port);
  const auto dport = ParsePort(destination_port);
  if (!sport || !dport) return Error("invalid v1 port");
  info.source.port = *sport;
  info.destination.port = *dport;
  return result;
}

uint16_t ReadBigEndian16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void ReadUnixPath(const uint8_t* p, ProxyEndpoint* endpoint) {
  const void* nul = std::memchr(p, 0, endpoint->unix_path.size());
  const size_t length = nul == nullptr ? endpoint->unix_path.size()
                                       : static_cast<size_t>(static_cast<const uint8_t*>(nul) - p);
  std::memcpy(endpoint->unix_path.data(), p, length);
  endpoint->unix_path_length = static_cast<uint8_t>(length);
}

// Section 2.2: 12-byte signature, version/command, family/transport, 16-bit length, then
// `length` bytes: the address block for the family followed by TLVs.
ProxyParseResult ParseV2(std::span<const uint8_t> buffer, size_t max_v2_bytes) {
  if (buffer.size() < kV2FixedBytes) {
    ProxyParseResult result;
    result.status = ProxyParseStatus::kNeedMore;
    return result;
  }
  const uint8_t version_command = buffer[12];
  const uint8_t family_transport = buffer[13];
  const size_t length = ReadBigEndian16(&buffer[14]);
  if ((version_command >> 4) != 2) return Error("unsupported v2 version");
  const uint8_t command = version_command & 0x0f;
  if (command > 1) return Error("unknown v2 command");
  const uint8_t family_bits = family_transport >> 4;
  const uint8_t transport_bits = family_transport & 0x0f;
  if (family_bits > 3) return Error("unknown v2 address family");
  if (transport_bits > 2) return Error("unknown v2 transport");
  const size_t total = kV2FixedBytes + length;
  if (total > max_v2_bytes) return Error("v2 header larger than allowed");
  if (buffer.size() < total) {
    ProxyParseResult result;
    result.status = ProxyParseStatus::kNeedMore;
    return result;
  }

  ProxyParseResult result;
  result.status = ProxyParseStatus::kComplete;
  result.consumed = total;
  ProxyInfo& info = result.info;
  info.version = 2;
  const AddressFamily family = static_cast<AddressFamily>(family_bits);
  const size_t block_size = family == AddressFamily::kInet    ? kV2InetBlock
                            : family == AddressFamily::kInet6 ? kV2Inet6Block
                            : family == AddressFamily::kUnix  ? kV2UnixBlock
                                                              : 0;
  const uint8_t* block = buffer.data() + kV2FixedBytes;
  // LOCAL: the block (whatever it holds) is to be ignored, along with the family (2.2).
  if (command == 0 || family == AddressFamily::kUnspec) {
    info.local = true;
    return result;
  }
  if (length < block_size) return Error("v2 address block too short for its family");
  info.family = family;
  info.transport = static_cast<Transport>(transport_bits);
  switch (family) {
    case AddressFamily::kInet:
      std::memcpy(info.source.ip.data(), block, 4);
      std::memcpy(info.destination.ip.data(), block + 4, 4);
      info.source.port = ReadBigEndian16(block + 8);
      info.destination.port = ReadBigEndian16(block + 10);
      break;
    case AddressFamily::kInet6:
      std::memcpy(info.source.ip.data(), block, 16);
      std::memcpy(info.destination.ip.data(), block + 16, 16);
      info.source.port = ReadBigEndian16(block + 32);
      info.destination.port = ReadBigEndian16(block + 34);
      break;
    case AddressFamily::kUnix:
      ReadUnixPath(block, &info.source);
      ReadUnixPath(block + 108, &info.destination);
      break;
    case AddressFamily::kUnspec:
      break;
  }
  // TLVs (2.2.7): type, 16-bit length, value; each must fit in what remains. The loop advances by
  // at least 3 bytes per TLV, so it ends within length / 3 steps.
  size_t offset = block_size;
  while (offset < length) {
    if (length - offset < kTlvHeaderBytes) return Error("truncated v2 TLV");
    const size_t value_length = ReadBigEndian16(block + offset + 1);
    if (length - offset - kTlvHeaderBytes < value_length) return Error("v2 TLV exceeds header");
    offset += kTlvHeaderBytes + value_length;
  }
  return result;
}

}  // namespace

ProxyDetection DetectProxyHeader(std::span<const uint8_t> first_bytes) {
  if (first_bytes.empty()) return ProxyDetection::kNeedMore;
  if (MatchesPrefix(first_bytes, AsBytes(kV1Prefix))) {
    return first_bytes.size() >= kV1Prefix.size() ? ProxyDetection::kV1 : ProxyDetection::kNeedMore;
  }
  if (MatchesPrefix(first_bytes, kV2Signature)) {
    return first_bytes.size() >= kV2Signature.size() ? ProxyDetection::kV2
                                                     : ProxyDetection::kNeedMore;
  }
  return ProxyDetection::kNotProxy;
}

ProxyParseResult ParseProxyHeader(std::span<const uint8_t> buffer, size_t max_v2_bytes) {
  switch (DetectProxyHeader(buffer)) {
    case ProxyDetection::kV1:
      return ParseV1(buffer);
    case ProxyDetection::kV2:
      return ParseV2(buffer, max_v2_bytes);
    case ProxyDetection::kNeedMore:
      return ProxyParseResult{};
    case ProxyDetection::kNotProxy:
      break;
  }
  return Error("not a PROXY protocol header");
}

size_t FormatEndpoint(AddressFamily family, const ProxyEndpoint& endpoint, char* out,
                      size_t out_cap) {
  char text[128];
  size_t length = 0;
  auto append = [&](std::string_view s) {
    const size_t n = std::min(s.size(), sizeof text - length);
    std::memcpy(text + length, s.data(), n);
    length += n;
  };
  auto append_port = [&] {
    char digits[6];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, endpoint.port);
    append(":");
    append(std::string_view(digits, static_cast<size_t>(end - digits)));
  };
  char address[INET6_ADDRSTRLEN];
  switch (family) {
    case AddressFamily::kInet:
      inet_ntop(AF_INET, endpoint.ip.data(), address, sizeof address);
      append(address);
      append_port();
      break;
    case AddressFamily::kInet6:
      inet_ntop(AF_INET6, endpoint.ip.data(), address, sizeof address);
      append("[");
      append(address);
      append("]");
      append_port();
      break;
    case AddressFamily::kUnix:
      append("unix:");
      append(endpoint.UnixPath());
      break;
    case AddressFamily::kUnspec:
      append("unspec");
      break;
  }
  if (length > out_cap) return 0;
  std::memcpy(out, text, length);
  return length;
}

}  // namespace sb::proxy
