// HTTP/1.1 response writing without allocation: a status line with its reason phrase, the
// framing headers, caller-supplied header lines and a body, appended to any byte sink (a type
// with Append(std::string_view), such as FixedBufferSink over a connection's send buffer).
//
// Header names and values are checked before anything is written, so a value that echoes client
// input cannot inject a header line or split the response. Pure; safe on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "net/http/encoding.h"
#include "net/http/parser.h"

namespace sb::http {

template <class S>
concept ByteSink = requires(S& sink, std::string_view bytes) { sink.Append(bytes); };

// Appends into a caller-owned char array. Bytes that do not fit are dropped and overflowed()
// turns true; the caller then answers with a smaller response (or a 500) instead.
class FixedBufferSink {
 public:
  FixedBufferSink(char* data, size_t capacity) : data_(data), capacity_(capacity) {}

  void Append(std::string_view bytes) {
    const size_t room = capacity_ - size_;
    const size_t n = bytes.size() < room ? bytes.size() : room;
    if (n > 0) std::memcpy(data_ + size_, bytes.data(), n);
    size_ += n;
    if (n < bytes.size()) overflowed_ = true;
  }
  void Clear() {
    size_ = 0;
    overflowed_ = false;
  }

  bool overflowed() const { return overflowed_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  char* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool overflowed_ = false;
};

// The reason phrase of every status this product sends (1xx, 200-206, the 4xx/5xx it uses);
// empty for others (RFC 9112 allows an empty reason phrase).
[[nodiscard]] std::string_view ReasonPhrase(int status);

// The interim answer to "Expect: 100-continue".
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

struct ResponseHead {
  int status = 200;                             // 100..599
  std::string_view content_type;                // no Content-Type line when empty
  bool close_connection = false;                // adds "Connection: close"
  std::span<const HeaderField> extra_headers;  // written in order, after the fixed ones
};

// True when the status is in range and every header name is a token and every value free of
// control characters (so no CR/LF).
[[nodiscard]] bool ValidResponseHead(const ResponseHead& head);

namespace internal {
void WriteResponseHead(const ResponseHead& head, std::optional<uint64_t> content_length,
                       void* sink, AppendFn append);
}  // namespace internal

// Writes the status line and headers, and Content-Length when given (a HEAD answer, or a body the
// caller writes itself); leave it out for a body framed otherwise (chunked, or an event stream
// ended by closing). Returns false, writing nothing, when !ValidResponseHead(head).
template <ByteSink Sink>
[[nodiscard]] bool WriteResponseHead(Sink& sink, const ResponseHead& head,
                                     std::optional<uint64_t> content_length) {
  if (!ValidResponseHead(head)) return false;
  internal::WriteResponseHead(head, content_length, &sink, [](void* s, std::string_view bytes) {
    static_cast<Sink*>(s)->Append(bytes);
  });
  return true;
}

// A complete response: head, "Content-Length: body.size()" and the body. 1xx, 204 and 304 carry
// neither Content-Length nor a body (RFC 9110 8.6), so for them `body` must be empty. Returns
// false, writing nothing, for an invalid head or a body where none is allowed.
template <ByteSink Sink>
[[nodiscard]] bool WriteResponse(Sink& sink, const ResponseHead& head, std::string_view body) {
  const bool bodiless = head.status < 200 || head.status == 204 || head.status == 304;
  if (bodiless && !body.empty()) return false;
  if (!WriteResponseHead(sink, head,
                         bodiless ? std::nullopt : std::optional<uint64_t>(body.size()))) {
    return false;
  }
  if (!body.empty()) sink.Append(body);
  return true;
}

}  // namespace sb::http
