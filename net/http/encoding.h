// Byte-level encodings the router needs on the request path: percent-decoding of path segments
// and query values, query-string iteration, base64 (the x-amz-mqtt5-* headers), UTF-8
// validation, and JSON string escaping for error bodies that echo client input.
//
// Nothing here allocates: inputs are views, outputs go to caller buffers or sinks. Functions
// that can fail return std::nullopt (malformed input, or an output buffer that is too small)
// and leave the output contents unspecified. Pure functions; safe on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace sb::http {

// Whether '+' decodes to a space. In paths it never does (RFC 3986); in query values it does,
// because HTML forms and some clients encode spaces that way (AWS clients send %20; both work).
enum class PlusDecoding : uint8_t { kKeepPlus, kPlusAsSpace };

// Decodes %XX escapes (two hex digits, either case; anything else after '%' is an error) into
// out[0, out_cap). Returns the decoded length; out_cap >= in.size() always suffices. May decode
// in place (out == in.data()). Decoded bytes are not validated (see ValidUtf8).
[[nodiscard]] std::optional<size_t> PercentDecode(std::string_view in, char* out, size_t out_cap,
                                                  PlusDecoding plus = PlusDecoding::kKeepPlus);

// Calls fn(name_raw, value_raw) for each '&'-separated parameter of a raw query string, in
// order. The name ends at the first '='; a parameter without '=' has an empty value. Empty
// parameters ("a=1&&b=2") are skipped. Views are still percent-encoded. If fn returns bool,
// returning false stops the iteration.
template <class Fn>
void ForEachQueryParam(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    const size_t eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, std::string_view, std::string_view>,
                                 bool>) {
      if (!fn(name, value)) return;
    } else {
      fn(name, value);
    }
  }
}

// True when the raw (percent-encoded, '+' as space) parameter name decodes to `name`.
[[nodiscard]] bool QueryNameEquals(std::string_view raw_name, std::string_view name);

// The raw value of the first parameter whose decoded name is `name`, or nullopt.
[[nodiscard]] std::optional<std::string_view> FindQueryParam(std::string_view query,
                                                             std::string_view name);

// Base64, standard alphabet (RFC 4648 section 4) with '=' padding. Decoding is strict: length a
// multiple of 4, only alphabet characters, padding only at the end, unused bits zero (so every
// byte string has exactly one accepted encoding); no whitespace. May decode in place.
constexpr size_t Base64DecodedMaxSize(size_t encoded_size) { return encoded_size / 4 * 3; }
constexpr size_t Base64EncodedSize(size_t decoded_size) { return (decoded_size + 2) / 3 * 4; }
[[nodiscard]] std::optional<size_t> Base64Decode(std::string_view in, char* out, size_t out_cap);
// Needs out_cap >= Base64EncodedSize(in.size()). Must not overlap `in`.
[[nodiscard]] std::optional<size_t> Base64Encode(std::string_view in, char* out, size_t out_cap);

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
[[nodiscard]] bool ValidUtf8(std::string_view in);

// Appends `in` to `sink` as the contents of a JSON string (without the quotes): '"', '\\' and
// control characters are escaped, and each byte of an invalid UTF-8 sequence becomes U+FFFD, so
// the result is valid JSON whatever the input. Sink: any type with Append(std::string_view).
template <class Sink>
void AppendJsonEscaped(Sink& sink, std::string_view in);

namespace internal {
using AppendFn = void (*)(void* sink, std::string_view bytes);
void AppendJsonEscaped(std::string_view in, void* sink, AppendFn append);
}  // namespace internal

template <class Sink>
void AppendJsonEscaped(Sink& sink, std::string_view in) {
  internal::AppendJsonEscaped(in, &sink, [](void* s, std::string_view bytes) {
    static_cast<Sink*>(s)->Append(bytes);
  });
}

}  // namespace sb::http
