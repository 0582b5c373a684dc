// Fuzzes PROXY protocol detection and parsing. Checks that detection and parsing agree, that
// consumed counts respect the v1/v2 bounds, that a complete header parses the same from exactly
// its own bytes, and that endpoint formatting always fits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/proxy/proxy_protocol.h"

namespace {
void Check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::proxy;
  const std::span<const uint8_t> buffer(data, size);
  const ProxyDetection detection = DetectProxyHeader(buffer);
  // A small limit sometimes, to exercise the v2 size check.
  const size_t max_v2 = (size > 15 && (data[size - 1] & 1)) ? 16 + data[size - 1] : kMaxV2HeaderBytes;
  const ProxyParseResult result = ParseProxyHeader(buffer, max_v2);
  if (detection == ProxyDetection::kNotProxy) Check(result.status == ProxyParseStatus::kError);
  if (detection == ProxyDetection::kNeedMore) Check(result.status == ProxyParseStatus::kNeedMore);
  if (result.status == ProxyParseStatus::kError) {
    Check(result.error != nullptr && result.error[0] != '\0');
    return 0;
  }
  if (result.status == ProxyParseStatus::kNeedMore) {
    Check(result.consumed == 0);
    return 0;
  }
  Check(result.consumed > 0 && result.consumed <= size);
  if (result.info.version == 1) {
    Check(detection == ProxyDetection::kV1 && result.consumed <= kMaxV1HeaderBytes);
  } else {
    Check(result.info.version == 2 && detection == ProxyDetection::kV2);
    Check(result.consumed >= 16 && result.consumed <= max_v2);
  }
  Check(result.info.local == (result.info.family == AddressFamily::kUnspec));
  Check(result.info.source.unix_path_length <= 108 && result.info.destination.unix_path_length <= 108);

  const ProxyParseResult exact = ParseProxyHeader(buffer.first(result.consumed), max_v2);
  Check(exact.status == ProxyParseStatus::kComplete && exact.consumed == result.consumed);
  Check(ParseProxyHeader(buffer.first(result.consumed - 1), max_v2).status ==
        ProxyParseStatus::kNeedMore);

  char text[128];
  Check(FormatEndpoint(result.info.family, result.info.source, text, sizeof text) > 0);
  Check(FormatEndpoint(result.info.family, result.info.destination, text, sizeof text) > 0);
  return 0;
}
