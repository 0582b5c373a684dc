#include "net/http/parser.h"

#include <algorithm>
#include <cstring>

namespace sb::http {
namespace {

// RFC 9110 5.6.2 tchar.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

// Request-target bytes: visible ASCII except '#' (a fragment is never sent, RFC 9112 3.2).
// Control characters, spaces, DEL and non-ASCII bytes are refused.
constexpr std::array<bool, 256> kTargetChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x21; c <= 0x7e; ++c) table[c] = c != '#';
  return table;
}();

// field-value bytes: VCHAR, obs-text, SP and HTAB.
constexpr std::array<bool, 256> kFieldValueChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c <= 0xff; ++c) table[c] = c != 0x7f;
  table['\t'] = true;
  return table;
}();

// Host: uri-host [":" port] = reg-name / IPv4 / IP-literal, so unreserved, pct-encoded,
// sub-delims, ':' and the brackets of an IPv6 literal.
constexpr std::array<bool, 256> kHostChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("-._~%!$&'()*+,;=:[]")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool AllOf(std::string_view s, const std::array<bool, 256>& table) {
  for (char c : s) {
    if (!table[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each element of a comma-separated list (RFC 9110 5.6.1), trimmed of
// OWS; empty elements are passed too so that callers can decide whether they are allowed.
template <class Fn>
void ForEachListElement(std::string_view value, Fn&& fn) {
  while (true) {
    const size_t comma = value.find(',');
    fn(TrimOws(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

bool ListContains(std::string_view value, std::string_view token) {
  bool found = false;
  ForEachListElement(value, [&](std::string_view element) {
    if (EqualsIgnoreCase(element, token)) found = true;
  });
  return found;
}

// Digits only, no sign, no whitespace, no overflow.
std::optional<uint64_t> ParseContentLength(std::string_view value) {
  if (value.empty()) return std::nullopt;
  uint64_t result = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return std::nullopt;
    result = result * 10 + digit;
  }
  return result;
}

constexpr ParseResult Error(int status, const char* reason) {
  return ParseResult{ParseStatus::kError, 0, HttpError{status, reason}};
}

// What the framing-relevant headers said, gathered while reading the header lines and judged
// once the head is complete.
struct FramingFacts {
  bool content_length_seen = false;
  bool transfer_encoding_seen = false;
  bool chunked_seen = false;
  bool chunked_repeated = false;
  bool coding_after_chunked = false;
  bool unknown_coding = false;
  bool empty_coding = false;
  bool host_seen = false;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool upgrade_websocket = false;
  bool expect_continue = false;
};

void NoteTransferEncoding(std::string_view value, FramingFacts* facts) {
  facts->transfer_encoding_seen = true;
  ForEachListElement(value, [&](std::string_view coding) {
    if (coding.empty()) {
      facts->empty_coding = true;
    } else if (EqualsIgnoreCase(coding, "chunked")) {
      if (facts->chunked_seen) facts->chunked_repeated = true;
      facts->chunked_seen = true;
    } else {
      if (facts->chunked_seen) facts->coding_after_chunked = true;
      facts->unknown_coding = true;
    }
  });
}

void NoteConnection(std::string_view value, FramingFacts* facts) {
  ForEachListElement(value, [&](std::string_view option) {
    if (EqualsIgnoreCase(option, "close")) facts->connection_close = true;
    if (EqualsIgnoreCase(option, "keep-alive")) facts->connection_keep_alive = true;
    if (EqualsIgnoreCase(option, "upgrade")) facts->connection_upgrade = true;
  });
}

// Interprets one header that affects framing or connection handling. Returns an error result
// for a header that makes the request unacceptable on its own (duplicates, bad values).
std::optional<ParseResult> NoteHeader(const HeaderField& field, RequestHead* head,
                                      FramingFacts* facts) {
  const std::string_view name = field.name;
  switch (name.size()) {
    case 4:
      if (EqualsIgnoreCase(name, "host")) {
        if (facts->host_seen) return Error(400, "more than one Host header");
        if (!AllOf(field.value, kHostChars)) return Error(400, "invalid Host header");
        facts->host_seen = true;
        head->host = field.value;
      }
      break;
    case 6:
      if (EqualsIgnoreCase(name, "expect") && ListContains(field.value, "100-continue")) {
        facts->expect_continue = true;
      }
      break;
    case 7:
      if (EqualsIgnoreCase(name, "upgrade") && ListContains(field.value, "websocket")) {
        facts->upgrade_websocket = true;
      }
      break;
    case 10:
      if (EqualsIgnoreCase(name, "connection")) NoteConnection(field.value, facts);
      break;
    case 14:
      if (EqualsIgnoreCase(name, "content-length")) {
        if (facts->content_length_seen) return Error(400, "more than one Content-Length");
        facts->content_length_seen = true;
        head->content_length = ParseContentLength(field.value);
        if (!head->content_length) return Error(400, "invalid Content-Length");
      }
      break;
    case 17:
      if (EqualsIgnoreCase(name, "transfer-encoding")) NoteTransferEncoding(field.value, facts);
      break;
    default:
      break;
  }
  return std::nullopt;
}

// Splits the request target into path and query (see RequestHead).
std::optional<ParseResult> SplitTarget(RequestHead* head) {
  const std::string_view target = head->target;
  std::string_view path_and_query;
  if (target.front() == '/') {
    path_and_query = target;
  } else if (target == "*") {
    if (head->method != "OPTIONS") return Error(400, "'*' target is only valid for OPTIONS");
    head->path = target;
    head->query = {};
    return std::nullopt;
  } else {
    // absolute-form (RFC 9112 3.2.2): scheme "://" authority path-abempty [ "?" query ].
    size_t authority_start = 0;
    if (target.size() > 7 && EqualsIgnoreCase(target.substr(0, 7), "http://")) {
      authority_start = 7;
    } else if (target.size() > 8 && EqualsIgnoreCase(target.substr(0, 8), "https://")) {
      authority_start = 8;
    } else {
      return Error(400, "invalid request target");
    }
    const size_t authority_end = target.find_first_of("/?", authority_start);
    if (authority_end == authority_start) return Error(400, "invalid request target");
    path_and_query =
        authority_end == std::string_view::npos ? std::string_view() : target.substr(authority_end);
  }
  const size_t question = path_and_query.find('?');
  head->path = path_and_query.substr(0, question);
  head->query =
      question == std::string_view::npos ? std::string_view() : path_and_query.substr(question + 1);
  if (head->path.empty()) head->path = "/";  // absolute-form without a path means "/"
  return std::nullopt;
}

// "METHOD SP target SP HTTP/D.D" (without the CRLF).
std::optional<ParseResult> ParseRequestLine(std::string_view line, RequestHead* head) {
  const size_t method_end = line.find(' ');
  if (method_end == std::string_view::npos) return Error(400, "malformed request line");
  head->method = line.substr(0, method_end);
  if (head->method.empty() || !AllOf(head->method, kTokenChars)) {
    return Error(400, "invalid method");
  }
  const size_t target_end = line.find(' ', method_end + 1);
  if (target_end == std::string_view::npos) return Error(400, "malformed request line");
  head->target = line.substr(method_end + 1, target_end - method_end - 1);
  if (head->target.empty() || !AllOf(head->target, kTargetChars)) {
    return Error(400, "invalid request target");
  }
  const std::string_view version = line.substr(target_end + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Error(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Error(505, "HTTP version not supported");
  }
  head->version_minor = version[7] - '0';
  return SplitTarget(head);
}

// Judges the gathered facts once the whole head has been read.
std::optional<ParseResult> FinishHead(const FramingFacts& facts, RequestHead* head) {
  if (facts.transfer_encoding_seen) {
    if (facts.content_length_seen) {
      return Error(400, "both Content-Length and Transfer-Encoding");
    }
    if (head->version_minor == 0) return Error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (facts.empty_coding) return Error(400, "empty transfer coding");
    if (facts.chunked_repeated) return Error(400, "chunked applied more than once");
    if (facts.coding_after_chunked) return Error(400, "chunked is not the final transfer coding");
    if (facts.unknown_coding) return Error(501, "transfer coding not implemented");
    head->chunked = true;
  }
  if (head->version_minor == 1 && !facts.host_seen) {
    return Error(400, "HTTP/1.1 request without Host");
  }
  head->keep_alive = head->version_minor == 1
                         ? !facts.connection_close
                         : facts.connection_keep_alive && !facts.connection_close;
  // RFC 9110 10.1.1: a server ignores 100-continue in an HTTP/1.0 request.
  head->expect_continue = facts.expect_continue && head->version_minor == 1;
  head->upgrade_websocket = facts.connection_upgrade && facts.upgrade_websocket;
  return std::nullopt;
}

void ResetHead(RequestHead* head) {
  // The header array is left as is: header_count says how much of it is meaningful, and
  // clearing 256 entries per request would cost more than the parse.
  head->method = head->target = head->path = head->query = head->host = {};
  head->version_minor = 1;
  head->content_length.reset();
  head->chunked = head->keep_alive = head->expect_continue = head->upgrade_websocket = false;
  head->header_count = 0;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

bool IsValidFieldName(std::string_view name) { return !name.empty() && AllOf(name, kTokenChars); }

bool IsValidFieldValue(std::string_view value) { return AllOf(value, kFieldValueChars); }

std::optional<std::string_view> FindHeader(const RequestHead& head, std::string_view name) {
  for (const HeaderField& field : head.headers()) {
    if (EqualsIgnoreCase(field.name, name)) return field.value;
  }
  return std::nullopt;
}

ParseResult ParseRequestHead(std::string_view buffer, const Limits& limits, RequestHead* out) {
  ResetHead(out);
  const size_t max_headers = std::min(limits.max_headers, kHeaderCapacity);
  // Only the first max_head_bytes can belong to an acceptable head; running out of them with
  // more bytes present means the head is too large, otherwise we simply need more.
  const std::string_view window = buffer.substr(0, limits.max_head_bytes);
  const ParseResult incomplete = buffer.size() > window.size()
                                     ? Error(431, "request head too large")
                                     : ParseResult{ParseStatus::kNeedMore, 0, {}};

  FramingFacts facts;
  bool request_line_seen = false;
  size_t pos = 0;
  while (true) {
    if (pos >= window.size()) return incomplete;
    const void* lf = std::memchr(window.data() + pos, '\n', window.size() - pos);
    if (lf == nullptr) return incomplete;
    const size_t lf_pos = static_cast<size_t>(static_cast<const char*>(lf) - window.data());
    if (lf_pos == pos || window[lf_pos - 1] != '\r') {
      return Error(400, "line not terminated by CRLF");
    }
    const std::string_view line = window.substr(pos, lf_pos - 1 - pos);
    pos = lf_pos + 1;

    if (!request_line_seen) {
      if (line.empty()) continue;  // empty lines before the request line are ignored
      if (auto error = ParseRequestLine(line, out)) return *error;
      request_line_seen = true;
      continue;
    }
    if (line.empty()) {
      if (auto error = FinishHead(facts, out)) return *error;
      return ParseResult{ParseStatus::kComplete, pos, {}};
    }
    if (IsOws(line.front())) return Error(400, "obsolete line folding");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Error(400, "header line without ':'");
    HeaderField field{line.substr(0, colon), TrimOws(line.substr(colon + 1))};
    if (!field.name.empty() && IsOws(field.name.back())) {
      return Error(400, "whitespace between header name and ':'");
    }
    if (!IsValidFieldName(field.name)) return Error(400, "invalid header name");
    if (!IsValidFieldValue(field.value)) return Error(400, "invalid character in header value");
    if (out->header_count == max_headers) return Error(431, "too many headers");
    out->header_storage[out->header_count++] = field;
    if (auto error = NoteHeader(field, out, &facts)) return *error;
  }
}

void ChunkedDecoder::Reset() {
  body_bytes_ = 0;
  chunk_remaining_ = 0;
  size_digits_ = 0;
  extension_bytes_ = 0;
  trailer_bytes_ = 0;
  state_ = State::kSizeFirstDigit;
  error_ = {};
}

ChunkedDecoder::Result ChunkedDecoder::DecodeInPlace(std::span<char> data) {
  char* write = data.data();
  return Run(
      data.data(), data.size(),
      [](void* context, const char* bytes, size_t size) {
        char*& cursor = *static_cast<char**>(context);
        std::memmove(cursor, bytes, size);  // regions may overlap; cursor <= bytes
        cursor += size;
      },
      &write);
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::Result ChunkedDecoder::Run(const char* input, size_t size, DataFn on_data,
                                           void* context) {
  Result result;
  if (state_ == State::kDone) {
    result.status = ParseStatus::kComplete;
    return result;
  }
  if (state_ == State::kFailed) {
    result.status = ParseStatus::kError;
    result.error = error_;
    return result;
  }
  size_t i = 0;
  auto fail = [&](int status, const char* reason) {
    state_ = State::kFailed;
    error_ = HttpError{status, reason};
    result.status = ParseStatus::kError;
    result.consumed_bytes = i;
    result.error = error_;
    return result;
  };
  // Called when the size's digits end: the limit is checked before any of the chunk arrives.
  auto size_complete = [&]() { return chunk_remaining_ <= max_body_bytes_ - body_bytes_; };

  while (i < size) {
    const char c = input[i];
    switch (state_) {
      case State::kSizeFirstDigit: {
        const int digit = HexValue(c);
        if (digit < 0) return fail(400, "invalid chunk size");
        chunk_remaining_ = static_cast<uint64_t>(digit);
        size_digits_ = 1;
        extension_bytes_ = 0;
        state_ = State::kSize;
        break;
      }
      case State::kSize: {
        const int digit = HexValue(c);
        if (digit >= 0) {
          if (++size_digits_ > kMaxChunkSizeDigits) return fail(400, "chunk size too long");
          chunk_remaining_ = chunk_remaining_ * 16 + static_cast<uint64_t>(digit);
          break;
        }
        if (!size_complete()) return fail(413, "body too large");
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == ';') {
          state_ = State::kExtension;
        } else if (IsOws(c)) {
          state_ = State::kSizeWhitespace;
        } else {
          return fail(400, "invalid chunk size");
        }
        break;
      }
      case State::kSizeWhitespace:
        if (++extension_bytes_ > kMaxChunkExtensionBytes) {
          return fail(400, "chunk extension too long");
        }
        if (c == ';') {
          state_ = State::kExtension;
        } else if (!IsOws(c)) {
          return fail(400, "invalid chunk size line");
        }
        break;
      case State::kExtension:
        if (++extension_bytes_ > kMaxChunkExtensionBytes) {
          return fail(400, "chunk extension too long");
        }
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (!kFieldValueChars[static_cast<unsigned char>(c)]) {
          return fail(400, "invalid character in chunk extension");
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return fail(400, "chunk size line not terminated by CRLF");
        state_ = chunk_remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kData: {
        const size_t available = size - i;
        const size_t run = chunk_remaining_ < available ? static_cast<size_t>(chunk_remaining_)
                                                        : available;
        on_data(context, input + i, run);
        result.decoded_bytes += run;
        body_bytes_ += run;
        chunk_remaining_ -= run;
        i += run;
        if (chunk_remaining_ == 0) state_ = State::kDataCr;
        continue;  // i already advanced
      }
      case State::kDataCr:
        if (c != '\r') return fail(400, "chunk data not followed by CRLF");
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail(400, "chunk data not followed by CRLF");
        state_ = State::kSizeFirstDigit;
        break;
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
          break;
        }
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(431, "trailer section too large");
        if (!kTokenChars[static_cast<unsigned char>(c)]) return fail(400, "invalid trailer field");
        state_ = State::kTrailerName;
        break;
      case State::kTrailerName:
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(431, "trailer section too large");
        if (c == ':') {
          state_ = State::kTrailerValue;
        } else if (!kTokenChars[static_cast<unsigned char>(c)]) {
          return fail(400, "invalid trailer field");
        }
        break;
      case State::kTrailerValue:
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(431, "trailer section too large");
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (!kFieldValueChars[static_cast<unsigned char>(c)]) {
          return fail(400, "invalid character in trailer field");
        }
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail(400, "trailer field not terminated by CRLF");
        state_ = State::kTrailerStart;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail(400, "chunked body not terminated by CRLF");
        state_ = State::kDone;
        result.status = ParseStatus::kComplete;
        result.consumed_bytes = i + 1;
        return result;
      case State::kDone:
      case State::kFailed:
        break;  // handled before the loop
    }
    ++i;
  }
  result.status = ParseStatus::kNeedMore;
  result.consumed_bytes = size;
  return result;
}

}  // namespace sb::http
