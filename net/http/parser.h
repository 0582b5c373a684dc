// Strict, zero-copy, zero-allocation HTTP/1.1 request parsing (picohttpparser style).
//
// ParseRequestHead() reads one request head from the start of a receive buffer that may hold a
// partial request, one request, or several pipelined ones. Everything it returns is a view into
// that buffer: the caller keeps the bytes alive (and unmoved) while it uses the RequestHead.
// The parser is stateless: when it answers kNeedMore, call it again with the grown buffer; each
// call is linear in the head size, which Limits::max_head_bytes bounds.
//
// ChunkedDecoder removes `Transfer-Encoding: chunked` framing from the body that follows, fed
// with successive slices; it keeps a few integers of state and never allocates.
//
// Strictness is deliberate: the framing rules an attacker could use to desynchronise us from a
// proxy in front (request smuggling) are rejected rather than guessed at. Every rejection is a
// value (HttpError) carrying the status to answer with; after kError the connection should be
// answered and closed, since the framing of what follows is unknown.
//
// Thread safety: the functions are pure; a ChunkedDecoder belongs to one connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace sb::http {

// Upper bound of Limits::max_headers: RequestHead stores headers inline, without allocating.
inline constexpr size_t kHeaderCapacity = 256;

struct Limits {
  // The whole head: request line, header lines and the empty line (and any empty lines that
  // precede the request line). Larger → 431.
  size_t max_head_bytes = 16 * 1024;
  // More header lines → 431. Values above kHeaderCapacity act as kHeaderCapacity.
  size_t max_headers = 100;
};

struct HeaderField {
  std::string_view name;   // as sent (case preserved); compare with FindHeader / EqualsIgnoreCase
  std::string_view value;  // leading and trailing SP/HTAB removed
};

// Why a request was rejected: the status to answer with and a short static explanation
// (suitable for a log line or an error body; never freed).
struct HttpError {
  int http_status = 0;
  const char* reason = "";
};

enum class ParseStatus : uint8_t { kComplete, kNeedMore, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // kComplete: bytes of the head, including the final CRLF (the body or the next request starts
  // here). kNeedMore / kError: 0.
  size_t consumed_bytes = 0;
  HttpError error;  // set when status == kError
};

struct RequestHead {
  std::string_view method;  // case-sensitive token ("GET", "POST", ...)
  std::string_view target;  // the raw request-target
  // Raw (still percent-encoded) path and query of the target. For an origin-form target
  // "/a/b?x=1": path "/a/b", query "x=1". For an absolute-form target "http://h/a?x" the path
  // is "/a" ("/" when the target has no path); for "OPTIONS *" the path is "*". The query is
  // empty when there is no '?'.
  std::string_view path;
  std::string_view query;
  int version_minor = 1;  // HTTP/1.0 → 0, HTTP/1.1 → 1

  // Framing facts, derived from the headers.
  std::optional<uint64_t> content_length;  // a valid, single Content-Length
  bool chunked = false;                    // Transfer-Encoding: chunked (body needs ChunkedDecoder)
  bool keep_alive = false;                 // HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive"
  bool expect_continue = false;            // HTTP/1.1 "Expect: 100-continue"
  bool upgrade_websocket = false;          // "Connection: upgrade" and "Upgrade: websocket"
  std::string_view host;                   // the Host header's value (empty when absent)

  std::array<HeaderField, kHeaderCapacity> header_storage;
  size_t header_count = 0;

  std::span<const HeaderField> headers() const { return {header_storage.data(), header_count}; }
  // True when a body follows the head (chunked, or a Content-Length above 0).
  bool has_body() const { return chunked || (content_length && *content_length > 0); }
};

// Parses the request head at the start of `buffer` into `*out` (whose previous contents are
// overwritten; only meaningful when the result is kComplete). Does not allocate. Empty lines (CRLF) before the request line are skipped, as
// RFC 9112 2.2 asks. Rejections:
//   431  head longer than limits.max_head_bytes, or more than limits.max_headers headers;
//   505  a well-formed version other than HTTP/1.0 and HTTP/1.1;
//   501  a transfer coding other than chunked;
//   400  anything else malformed (bare LF, obs-fold, whitespace before ':', bad token or target
//        characters, control characters in values, Content-Length with Transfer-Encoding,
//        duplicate or invalid Content-Length, chunked repeated or not last, Transfer-Encoding in
//        HTTP/1.0, missing or repeated Host in HTTP/1.1, ...).
[[nodiscard]] ParseResult ParseRequestHead(std::string_view buffer, const Limits& limits,
                                           RequestHead* out);

// First header named `name` (ASCII case-insensitive), or nullopt. Does not allocate.
[[nodiscard]] std::optional<std::string_view> FindHeader(const RequestHead& head,
                                                         std::string_view name);

// ASCII case-insensitive equality, without allocation.
[[nodiscard]] bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// RFC 9110 field-name (a token) and field-value (no control characters except HTAB; no leading
// or trailing whitespace is required here). Used by the response writers to refuse header
// injection.
[[nodiscard]] bool IsValidFieldName(std::string_view name);
[[nodiscard]] bool IsValidFieldValue(std::string_view value);

// Incremental decoder of a chunked body (RFC 9112 7.1). Feed it the bytes after the head, in as
// many slices as they arrive; it reports how many input bytes it consumed, so bytes after the
// body (a pipelined request) stay with the caller. Chunk extensions and trailer fields are
// validated and ignored. Bounds: chunk-size at most kMaxChunkSizeDigits hex digits, extensions at
// most kMaxChunkExtensionBytes per chunk line, trailers at most kMaxTrailerBytes in total, and
// the decoded body at most max_body_bytes (→ 413, reported before the chunk's data arrives).
// Errors: 400 for malformed framing, 413 for the body limit, 431 for oversize trailers.
// Does not allocate.
class ChunkedDecoder {
 public:
  static constexpr size_t kMaxChunkSizeDigits = 16;
  static constexpr size_t kMaxChunkExtensionBytes = 4096;
  static constexpr size_t kMaxTrailerBytes = 16 * 1024;

  struct Result {
    ParseStatus status = ParseStatus::kNeedMore;
    // Input bytes used by this call: all of them on kNeedMore; up to and including the final
    // CRLF on kComplete; up to the offending byte on kError.
    size_t consumed_bytes = 0;
    size_t decoded_bytes = 0;  // body bytes produced by this call
    HttpError error;
  };

  explicit ChunkedDecoder(uint64_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // Decodes `data` in place: the body bytes this call produces are moved to
  // data[0, decoded_bytes). Output never outruns input, so the write position never overtakes
  // the read position.
  Result DecodeInPlace(std::span<char> data);

  // Calls on_data(std::string_view) for each run of body bytes (views into `input`, valid for
  // the duration of the call).
  template <class OnData>
  Result Decode(std::string_view input, OnData&& on_data) {
    using Fn = std::remove_reference_t<OnData>;
    return Run(
        input.data(), input.size(),
        [](void* context, const char* data, size_t size) {
          (*static_cast<Fn*>(context))(std::string_view(data, size));
        },
        &on_data);
  }

  // Ready for the next body; keeps max_body_bytes.
  void Reset();

  bool done() const { return state_ == State::kDone; }
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State : uint8_t {
    kSizeFirstDigit,
    kSize,
    kSizeWhitespace,  // BWS after the size, only valid before ';'
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,
    kDone,
    kFailed,
  };
  using DataFn = void (*)(void* context, const char* data, size_t size);

  Result Run(const char* input, size_t size, DataFn on_data, void* context);

  uint64_t max_body_bytes_;
  uint64_t body_bytes_ = 0;
  uint64_t chunk_remaining_ = 0;  // kSize: the size read so far; kData: bytes still to come
  size_t size_digits_ = 0;
  size_t extension_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  State state_ = State::kSizeFirstDigit;
  HttpError error_;  // repeated by every call after a failure
};

}  // namespace sb::http
