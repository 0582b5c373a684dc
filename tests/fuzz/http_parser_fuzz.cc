// Fuzzes the HTTP request-head parser and, for chunked requests, the ChunkedDecoder over the
// bytes after the head (fed in slices whose sizes come from the input too). Checks the
// contracts as it goes: views lie inside the buffer, consumed counts stay in bounds, a complete
// head parses identically from exactly its own bytes, and the decoders agree with each other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http/encoding.h"
#include "net/http/parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Inside(std::string_view view, std::string_view buffer) {
  if (view.empty()) return true;
  return view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::http;
  // The first byte picks small limits sometimes, so the limit paths get exercised too.
  Limits limits;
  if (size > 0 && (data[0] & 1)) {
    limits.max_headers = data[0] >> 4;
    limits.max_head_bytes = 64 + data[0] * 4;
  }
  const std::string_view buffer(reinterpret_cast<const char*>(data), size);
  static RequestHead head;
  const ParseResult result = ParseRequestHead(buffer, limits, &head);
  if (result.status == ParseStatus::kError) {
    Check(result.error.http_status >= 400 && result.error.http_status <= 505);
    Check(result.error.reason != nullptr && result.error.reason[0] != '\0');
    return 0;
  }
  if (result.status == ParseStatus::kNeedMore) {
    Check(buffer.size() <= limits.max_head_bytes);
    return 0;
  }
  Check(result.consumed_bytes > 0 && result.consumed_bytes <= buffer.size());
  Check(result.consumed_bytes <= limits.max_head_bytes);
  Check(head.header_count <= limits.max_headers && head.header_count <= kHeaderCapacity);
  Check(!head.method.empty() && Inside(head.method, buffer) && Inside(head.target, buffer));
  Check(head.path == "/" || Inside(head.path, buffer));
  Check(Inside(head.query, buffer) && Inside(head.host, buffer));
  Check(!(head.chunked && head.content_length.has_value()));
  for (const HeaderField& field : head.headers()) {
    Check(Inside(field.name, buffer) && Inside(field.value, buffer));
    Check(IsValidFieldName(field.name) && IsValidFieldValue(field.value));
    Check(FindHeader(head, field.name).has_value());
  }

  // Exactly the head's bytes give the same answer; one byte fewer needs more.
  static RequestHead again;
  const std::string_view exact = buffer.substr(0, result.consumed_bytes);
  const ParseResult exact_result = ParseRequestHead(exact, limits, &again);
  Check(exact_result.status == ParseStatus::kComplete);
  Check(exact_result.consumed_bytes == result.consumed_bytes);
  Check(again.header_count == head.header_count && again.chunked == head.chunked &&
        again.content_length == head.content_length && again.keep_alive == head.keep_alive);
  Check(ParseRequestHead(exact.substr(0, exact.size() - 1), limits, &again).status ==
        ParseStatus::kNeedMore);

  // Query helpers over the (untrusted) query string.
  char decoded[512];
  ForEachQueryParam(head.query, [&](std::string_view name, std::string_view value) {
    if (value.size() <= sizeof decoded) {
      const auto length = PercentDecode(value, decoded, sizeof decoded, PlusDecoding::kPlusAsSpace);
      Check(!length || *length <= value.size());
    }
    Check(FindQueryParam(head.query, name).has_value() || name.find_first_of("%+") != name.npos);
  });

  if (!head.chunked) return 0;
  const std::string_view body = buffer.substr(result.consumed_bytes);
  const uint64_t max_body = 1 + (size > 1 ? data[1] * 16 : 0);

  // One decoder fed in slices (slice sizes from the body bytes), one in a single call, one in
  // place: all three must agree.
  ChunkedDecoder sliced(max_body);
  std::string sliced_out;
  size_t pos = 0;
  ChunkedDecoder::Result sliced_result;
  for (size_t step = 0; pos < body.size(); ++step) {
    const size_t slice = 1 + static_cast<unsigned char>(body[step % body.size()]) % 17;
    sliced_result = sliced.Decode(body.substr(pos, slice),
                                  [&](std::string_view piece) { sliced_out.append(piece); });
    pos += sliced_result.consumed_bytes;
    if (sliced_result.status != ParseStatus::kNeedMore) break;
  }
  Check(pos <= body.size());
  Check(sliced_out.size() <= max_body && sliced.body_bytes() == sliced_out.size());

  ChunkedDecoder whole(max_body);
  std::string whole_out;
  const auto whole_result =
      whole.Decode(body, [&](std::string_view piece) { whole_out.append(piece); });
  Check(whole_result.consumed_bytes <= body.size());
  Check(whole_result.decoded_bytes == whole_out.size());
  if (!body.empty()) {
    Check(whole_result.status == sliced_result.status);
    Check(whole_out == sliced_out);
    if (whole_result.status != ParseStatus::kNeedMore) Check(pos == whole_result.consumed_bytes);
  }

  std::string copy(body);
  ChunkedDecoder in_place(max_body);
  const auto in_place_result = in_place.DecodeInPlace(std::span<char>(copy.data(), copy.size()));
  Check(in_place_result.status == whole_result.status);
  Check(in_place_result.consumed_bytes == whole_result.consumed_bytes);
  Check(std::string_view(copy).substr(0, in_place_result.decoded_bytes) == whole_out);
  return 0;
}
