#include "net/proxy/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/allocation_counter.h"

namespace sb::proxy {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

ProxyDetection Detect(const Bytes& bytes) { return DetectProxyHeader(bytes); }

ProxyParseResult Parse(const Bytes& bytes, size_t max_v2 = kMaxV2HeaderBytes) {
  return ParseProxyHeader(bytes, max_v2);
}

std::string Format(const ProxyInfo& info, const ProxyEndpoint& endpoint) {
  char text[128];
  const size_t length = FormatEndpoint(info.family, endpoint, text, sizeof text);
  return std::string(text, length);
}

// ---- detection ----

TEST(DetectProxyHeader, Versions) {
  EXPECT_EQ(Detect({}), ProxyDetection::kNeedMore);
  EXPECT_EQ(Detect(ToBytes("P")), ProxyDetection::kNeedMore);
  EXPECT_EQ(Detect(ToBytes("PROXY")), ProxyDetection::kNeedMore);
  EXPECT_EQ(Detect(ToBytes("PROXY ")), ProxyDetection::kV1);
  EXPECT_EQ(Detect(ToBytes("PROXY TCP4 ")), ProxyDetection::kV1);
  EXPECT_EQ(Detect(ToBytes("PROXX")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect(ToBytes("PROXY\r")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect(ToBytes("proxy ")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect(ToBytes("GET / HTTP/1.1\r\n")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect(ToBytes("PRI * HTTP/2.0")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect({0x10, 0x00}), ProxyDetection::kNotProxy);  // an MQTT CONNECT
  const Bytes signature(kV2Signature.begin(), kV2Signature.end());
  for (size_t k = 1; k < signature.size(); ++k) {
    EXPECT_EQ(Detect(Bytes(signature.begin(), signature.begin() + k)), ProxyDetection::kNeedMore);
  }
  EXPECT_EQ(Detect(signature), ProxyDetection::kV2);
  EXPECT_EQ(Detect(ToBytes("\r\n\r\nX")), ProxyDetection::kNotProxy);
  EXPECT_EQ(Detect(ToBytes("\r\n\r\n\r\n")), ProxyDetection::kNotProxy);
}

TEST(ParseProxyHeader, NotProxyIsAnError) {
  const ProxyParseResult result = Parse(ToBytes("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(result.status, ProxyParseStatus::kError);
  EXPECT_STRNE(result.error, "");
  EXPECT_EQ(Parse({}).status, ProxyParseStatus::kNeedMore);
}

// ---- v1 ----

TEST(ProxyV1, Tcp4) {
  const std::string header = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const ProxyParseResult result = Parse(ToBytes(header + "GET / HTTP/1.1\r\n"));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, header.size());
  const ProxyInfo& info = result.info;
  EXPECT_EQ(info.version, 1);
  EXPECT_FALSE(info.local);
  EXPECT_EQ(info.family, AddressFamily::kInet);
  EXPECT_EQ(info.transport, Transport::kStream);
  EXPECT_EQ(info.source.ip[0], 192);
  EXPECT_EQ(info.source.ip[3], 1);
  EXPECT_EQ(info.destination.ip[3], 11);
  EXPECT_EQ(info.source.port, 56324);
  EXPECT_EQ(info.destination.port, 443);
  EXPECT_EQ(Format(info, info.source), "192.168.0.1:56324");
  EXPECT_EQ(Format(info, info.destination), "192.168.0.11:443");
}

TEST(ProxyV1, Tcp6) {
  const std::string header = "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 0\r\n";
  const ProxyParseResult result = Parse(ToBytes(header));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, header.size());
  EXPECT_EQ(result.info.family, AddressFamily::kInet6);
  EXPECT_EQ(result.info.source.ip[0], 0x20);
  EXPECT_EQ(result.info.source.ip[1], 0x01);
  EXPECT_EQ(result.info.source.ip[15], 0x01);
  EXPECT_EQ(result.info.destination.ip[10], 0xff);
  EXPECT_EQ(result.info.destination.ip[12], 10);
  EXPECT_EQ(result.info.source.port, 65535);
  EXPECT_EQ(result.info.destination.port, 0);
  EXPECT_EQ(Format(result.info, result.info.source), "[2001:db8::1]:65535");
}

TEST(ProxyV1, LongestHeadersFit) {
  // The spec's worst cases: 104 bytes for TCP6 and 107 for UNKNOWN.
  const std::string tcp6 =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  ASSERT_EQ(tcp6.size(), 104u);
  EXPECT_EQ(Parse(ToBytes(tcp6)).status, ProxyParseStatus::kComplete);
  const std::string unknown =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  ASSERT_EQ(unknown.size(), 107u);
  const ProxyParseResult result = Parse(ToBytes(unknown + "more"));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
  EXPECT_EQ(result.consumed, 107u);
  EXPECT_TRUE(result.info.local);
}

TEST(ProxyV1, Unknown) {
  const ProxyParseResult result = Parse(ToBytes("PROXY UNKNOWN\r\nX"));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
  EXPECT_EQ(result.consumed, 15u);
  EXPECT_TRUE(result.info.local);
  EXPECT_EQ(result.info.family, AddressFamily::kUnspec);
  EXPECT_EQ(Format(result.info, result.info.source), "unspec");
  // Whatever follows UNKNOWN is ignored.
  EXPECT_EQ(Parse(ToBytes("PROXY UNKNOWN garbage here\r\n")).status, ProxyParseStatus::kComplete);
}

TEST(ProxyV1, Rejections) {
  const char* invalid[] = {
      "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",        // double space
      "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",        // double space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",        // trailing space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",       // extra field
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",           // missing port
      "PROXY TCP4 1.2.3.4 5.6.7.8\r\n",             // missing ports
      "PROXY TCP4\r\n",                             // no addresses
      "PROXY TCP4 \r\n",                            //
      "PROXY \r\n",                                 // no protocol
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",         // unknown protocol
      "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",         // case-sensitive
      "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",         //
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",             // v6 address for TCP4
      "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",             // v4 address for TCP6
      "PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n",       // octet out of range
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",        // leading zero
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",           // three parts
      "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",       // five parts
      "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",        //
      "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",          //
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",     // port out of range
      "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n",     //
      "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",       // leading zero
      "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",        // sign
      "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",        //
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 0x2\r\n",       //
      "PROXY TCP6 2001:db8::g ::1 1 2\r\n",         // bad v6
      "PROXY TCP6 2001:db8:::1 ::1 1 2\r\n",        //
      "PROXY TCP6 [::1] ::1 1 2\r\n",               // brackets
      "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",        // zone id
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",           // bare LF
      "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",        // tab
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",       // stray CR
  };
  for (const char* header : invalid) {
    const ProxyParseResult result = Parse(ToBytes(header));
    EXPECT_EQ(result.status, ProxyParseStatus::kError) << header;
    EXPECT_STRNE(result.error, "") << header;
  }
}

TEST(ProxyV1, LengthLimit) {
  // 107 bytes without a line end: rejected, not waited for.
  const std::string long_line = "PROXY UNKNOWN " + std::string(93, 'a');
  ASSERT_EQ(long_line.size(), 107u);
  EXPECT_EQ(Parse(ToBytes(long_line)).status, ProxyParseStatus::kError);
  EXPECT_EQ(Parse(ToBytes(long_line.substr(0, 106))).status, ProxyParseStatus::kNeedMore);
  EXPECT_EQ(Parse(ToBytes(long_line + "\r\n")).status, ProxyParseStatus::kError);
}

TEST(ProxyV1, SplitAtEveryOffset) {
  const std::string header = "PROXY TCP4 10.1.2.3 10.4.5.6 1234 8883\r\n";
  const Bytes whole = ToBytes(header + "\x10\x20");
  for (size_t k = 0; k < header.size(); ++k) {
    const Bytes prefix(whole.begin(), whole.begin() + k);
    EXPECT_EQ(Parse(prefix).status, ProxyParseStatus::kNeedMore) << k;
  }
  const ProxyParseResult result = Parse(whole);
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
  EXPECT_EQ(result.consumed, header.size());
  EXPECT_EQ(result.info.destination.port, 8883);
}

// ---- v2, built by hand per section 2.2 ----

// Byte by byte: g++ 12 reports false -Warray-bounds positives for vector::insert of ranges.
void Append(Bytes* bytes, std::span<const uint8_t> more) {
  for (uint8_t b : more) bytes->push_back(b);
}

Bytes BuildV2(uint8_t version_command, uint8_t family_transport, const Bytes& payload) {
  Bytes bytes(kV2Signature.begin(), kV2Signature.end());
  bytes.push_back(version_command);
  bytes.push_back(family_transport);
  const uint16_t length = static_cast<uint16_t>(payload.size());
  bytes.push_back(static_cast<uint8_t>(length >> 8));
  bytes.push_back(static_cast<uint8_t>(length & 0xff));
  Append(&bytes, payload);
  return bytes;
}

void AppendPort(Bytes* bytes, uint16_t port) {
  bytes->push_back(static_cast<uint8_t>(port >> 8));
  bytes->push_back(static_cast<uint8_t>(port & 0xff));
}

Bytes Inet4Block(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint16_t sport,
                 uint16_t dport) {
  Bytes block;
  Append(&block, src);
  Append(&block, dst);
  AppendPort(&block, sport);
  AppendPort(&block, dport);
  return block;
}

Bytes Tlv(uint8_t type, const Bytes& value) {
  Bytes tlv = {type, static_cast<uint8_t>(value.size() >> 8),
               static_cast<uint8_t>(value.size() & 0xff)};
  Append(&tlv, value);
  return tlv;
}

constexpr uint8_t kProxyV2 = 0x21;
constexpr uint8_t kLocalV2 = 0x20;
constexpr uint8_t kTcp4 = 0x11;
constexpr uint8_t kUdp4 = 0x12;
constexpr uint8_t kTcp6 = 0x21;
constexpr uint8_t kUnixStream = 0x31;
constexpr uint8_t kUnspec = 0x00;

TEST(ProxyV2, Tcp4) {
  Bytes header = BuildV2(kProxyV2, kTcp4, Inet4Block({203, 0, 113, 7}, {10, 0, 0, 1}, 50000, 1883));
  ASSERT_EQ(header.size(), 28u);
  Bytes stream = header;
  stream.push_back(0x10);  // the MQTT CONNECT that follows
  const ProxyParseResult result = Parse(stream);
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, 28u);
  const ProxyInfo& info = result.info;
  EXPECT_EQ(info.version, 2);
  EXPECT_FALSE(info.local);
  EXPECT_EQ(info.family, AddressFamily::kInet);
  EXPECT_EQ(info.transport, Transport::kStream);
  EXPECT_EQ(Format(info, info.source), "203.0.113.7:50000");
  EXPECT_EQ(Format(info, info.destination), "10.0.0.1:1883");
}

TEST(ProxyV2, Udp4Transport) {
  const ProxyParseResult result =
      Parse(BuildV2(kProxyV2, kUdp4, Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1, 2)));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
  EXPECT_EQ(result.info.transport, Transport::kDgram);
}

TEST(ProxyV2, Tcp6) {
  Bytes block(36, 0);
  block[0] = 0x20;
  block[1] = 0x01;
  block[15] = 0x05;   // 2001::5
  block[31] = 0x01;   // ::1
  block[32] = 0x01;   // source port 0x01bb = 443
  block[33] = 0xbb;
  block[34] = 0x1f;   // destination port 0x1f90 = 8080
  block[35] = 0x90;
  const ProxyParseResult result = Parse(BuildV2(kProxyV2, kTcp6, block));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, 16u + 36u);
  EXPECT_EQ(result.info.family, AddressFamily::kInet6);
  EXPECT_EQ(Format(result.info, result.info.source), "[2001::5]:443");
  EXPECT_EQ(Format(result.info, result.info.destination), "[::1]:8080");
}

TEST(ProxyV2, Unix) {
  Bytes block(216, 0);
  const std::string source = "/run/client.sock";
  const std::string destination(108, 'd');  // fills the field: no NUL terminator
  std::copy(source.begin(), source.end(), block.begin());
  std::copy(destination.begin(), destination.end(), block.begin() + 108);
  const ProxyParseResult result = Parse(BuildV2(kProxyV2, kUnixStream, block));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.info.family, AddressFamily::kUnix);
  EXPECT_EQ(result.info.source.UnixPath(), source);
  EXPECT_EQ(result.info.destination.UnixPath(), destination);
  EXPECT_EQ(Format(result.info, result.info.source), "unix:/run/client.sock");
}

TEST(ProxyV2, LocalIgnoresAddresses) {
  const ProxyParseResult bare = Parse(BuildV2(kLocalV2, kUnspec, {}));
  ASSERT_EQ(bare.status, ProxyParseStatus::kComplete) << bare.error;
  EXPECT_EQ(bare.consumed, 16u);
  EXPECT_TRUE(bare.info.local);
  EXPECT_EQ(bare.info.family, AddressFamily::kUnspec);

  // LOCAL with a family and a (possibly short) block: skipped, not interpreted.
  const ProxyParseResult with_block = Parse(BuildV2(kLocalV2, kTcp4, Bytes(5, 0xaa)));
  ASSERT_EQ(with_block.status, ProxyParseStatus::kComplete) << with_block.error;
  EXPECT_EQ(with_block.consumed, 21u);
  EXPECT_TRUE(with_block.info.local);
  EXPECT_EQ(with_block.info.family, AddressFamily::kUnspec);
}

TEST(ProxyV2, ProxyWithUnspecFamilyIsLocal) {
  const ProxyParseResult result = Parse(BuildV2(kProxyV2, kUnspec, Bytes(4, 0)));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
  EXPECT_TRUE(result.info.local);
  EXPECT_EQ(result.consumed, 20u);
}

TEST(ProxyV2, TlvsAreSkipped) {
  Bytes payload = Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1000, 2000);
  const Bytes alpn = Tlv(0x01, {'h', '2'});
  const Bytes authority = Tlv(0x02, ToBytes("example.com"));
  const Bytes noop = Tlv(0x04, {});
  const Bytes aws_vpce = Tlv(0xea, ToBytes("\x01vpce-08d2bf15fac5001c9"));
  for (const Bytes* tlv : {&alpn, &authority, &noop, &aws_vpce}) {
    Append(&payload, *tlv);
  }
  Bytes stream = BuildV2(kProxyV2, kTcp4, payload);
  const size_t header_size = stream.size();
  Append(&stream, ToBytes("GET"));
  const ProxyParseResult result = Parse(stream);
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, header_size);
  EXPECT_EQ(result.info.source.port, 1000);
}

TEST(ProxyV2, Rejections) {
  const Bytes block = Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1, 2);
  Bytes truncated_tlv = block;
  Append(&truncated_tlv, Bytes{0x04, 0x00});  // a TLV header cut short
  Bytes overlong_tlv = block;
  const Bytes tlv = Tlv(0x04, {1, 2, 3});
  Append(&overlong_tlv, std::span(tlv).first(tlv.size() - 1));  // value one byte short
  const std::vector<std::pair<const char*, Bytes>> invalid = {
      {"version 1", BuildV2(0x11, kTcp4, block)},
      {"version 3", BuildV2(0x31, kTcp4, block)},
      {"version 0", BuildV2(0x01, kTcp4, block)},
      {"command 2", BuildV2(0x22, kTcp4, block)},
      {"command 15", BuildV2(0x2f, kTcp4, block)},
      {"family 4", BuildV2(kProxyV2, 0x41, block)},
      {"family 15", BuildV2(kProxyV2, 0xf1, block)},
      {"transport 3", BuildV2(kProxyV2, 0x13, block)},
      {"inet block short", BuildV2(kProxyV2, kTcp4, Bytes(block.begin(), block.begin() + 11))},
      {"inet6 block short", BuildV2(kProxyV2, kTcp6, Bytes(35, 0))},
      {"unix block short", BuildV2(kProxyV2, kUnixStream, Bytes(215, 0))},
      {"truncated TLV", BuildV2(kProxyV2, kTcp4, truncated_tlv)},
      {"TLV past the end", BuildV2(kProxyV2, kTcp4, overlong_tlv)},
  };
  for (const auto& [name, bytes] : invalid) {
    const ProxyParseResult result = Parse(bytes);
    EXPECT_EQ(result.status, ProxyParseStatus::kError) << name;
    EXPECT_STRNE(result.error, "") << name;
  }
}

TEST(ProxyV2, SizeLimit) {
  Bytes payload = Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1, 2);
  const Bytes big = Tlv(0x04, Bytes(1000, 0));
  Append(&payload, big);
  const Bytes header = BuildV2(kProxyV2, kTcp4, payload);
  EXPECT_EQ(Parse(header, header.size()).status, ProxyParseStatus::kComplete);
  EXPECT_EQ(Parse(header, header.size() - 1).status, ProxyParseStatus::kError);
  // The limit is applied from the fixed part alone, without waiting for the rest.
  const Bytes fixed_part(header.begin(), header.begin() + 16);
  EXPECT_EQ(Parse(fixed_part, 512).status, ProxyParseStatus::kError);
  EXPECT_EQ(Parse(fixed_part).status, ProxyParseStatus::kNeedMore);
  // The largest header the length field allows.
  Bytes largest = Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1, 2);
  const Bytes filler = Tlv(0x04, Bytes(65535 - 12 - 3, 0));
  Append(&largest, filler);
  const ProxyParseResult result = Parse(BuildV2(kProxyV2, kTcp4, largest));
  ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << result.error;
  EXPECT_EQ(result.consumed, kMaxV2HeaderBytes);
}

TEST(ProxyV2, SplitAtEveryOffset) {
  Bytes payload = Inet4Block({192, 0, 2, 1}, {192, 0, 2, 2}, 4000, 443);
  const Bytes authority = Tlv(0x02, ToBytes("switchboard.example"));
  Append(&payload, authority);
  const Bytes header = BuildV2(kProxyV2, kTcp4, payload);
  Bytes stream = header;
  Append(&stream, Bytes{0x10, 0x0c, 0x00});
  for (size_t k = 0; k < header.size(); ++k) {
    const Bytes prefix(stream.begin(), stream.begin() + k);
    EXPECT_EQ(Parse(prefix).status, ProxyParseStatus::kNeedMore) << k;
  }
  for (size_t k = header.size(); k <= stream.size(); ++k) {
    const ProxyParseResult result = Parse(Bytes(stream.begin(), stream.begin() + k));
    ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << k;
    EXPECT_EQ(result.consumed, header.size());
    EXPECT_EQ(Format(result.info, result.info.source), "192.0.2.1:4000");
  }
}

TEST(FormatEndpoint, TooSmall) {
  ProxyEndpoint endpoint;
  endpoint.ip = {1, 2, 3, 4};
  endpoint.port = 80;
  char out[64];
  EXPECT_EQ(FormatEndpoint(AddressFamily::kInet, endpoint, out, 10), 10u);  // "1.2.3.4:80"
  EXPECT_EQ(FormatEndpoint(AddressFamily::kInet, endpoint, out, 9), 0u);
}

TEST(ProxyProtocol, DoesNotAllocate) {
  const Bytes v1 = ToBytes("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
  const Bytes v2 = BuildV2(kProxyV2, kTcp4, Inet4Block({1, 2, 3, 4}, {5, 6, 7, 8}, 1, 2));
  char text[128];
  sb::testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    const ProxyParseResult a = ParseProxyHeader(v1);
    const ProxyParseResult b = ParseProxyHeader(v2);
    ASSERT_EQ(a.status, ProxyParseStatus::kComplete);
    ASSERT_EQ(b.status, ProxyParseStatus::kComplete);
    ASSERT_GT(FormatEndpoint(a.info.family, a.info.source, text, sizeof text), 0u);
  }
  EXPECT_EQ(scope.allocations(), 0u);
}

}  // namespace
}  // namespace sb::proxy
