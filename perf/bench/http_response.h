// Minimal HTTP/1.1 response framing for the direct-message senders: the status code, where
// the body ends, and whether the server will close the connection. Pipelined responses are
// read one after another from the same receive buffer.
//
// ParseResponseHead is stateless (call again with more bytes on kNeedMore), linear in the
// head size and bounded by kMaxResponseHead; it never allocates. FrameResponse adds the body
// (Content-Length, or chunked via sb::http::ChunkedDecoder). What they do not accept is a
// protocol error for the benchmark (the server under test answered something that is not
// HTTP/1.x).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sb::bench {

inline constexpr size_t kMaxResponseHead = 16 * 1024;

enum class ResponseParse : uint8_t { kComplete, kNeedMore, kError };

struct ResponseHead {
  int status = 0;
  size_t head_bytes = 0;        // through the empty line
  uint64_t content_length = 0;  // valid when has_content_length
  bool has_content_length = false;
  bool chunked = false;
  bool close = false;           // "Connection: close", or HTTP/1.0 without keep-alive
  const char* error = "";       // static text on kError
};

ResponseParse ParseResponseHead(std::string_view buffer, ResponseHead* out);

// One whole response at the start of `buffer`: its head, and in *total_bytes the size of
// head plus body (Content-Length or chunked framing). kNeedMore until all of it is there;
// kError (with out->error set) if it cannot fit in max_response_bytes or is malformed.
ResponseParse FrameResponse(std::string_view buffer, size_t max_response_bytes, ResponseHead* out,
                            size_t* total_bytes);

}  // namespace sb::bench
