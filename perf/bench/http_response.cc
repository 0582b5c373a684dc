#include "perf/bench/http_response.h"

#include <cctype>

#include "net/http/parser.h"

namespace sb::bench {
namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// True when the comma-separated `list` holds `token` (case-insensitive, whitespace trimmed).
bool ListHasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsNoCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

ResponseParse Fail(ResponseHead* out, const char* why) {
  out->error = why;
  return ResponseParse::kError;
}

}  // namespace

ResponseParse ParseResponseHead(std::string_view buffer, ResponseHead* out) {
  *out = ResponseHead{};
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buffer.size() > kMaxResponseHead ? Fail(out, "response head too large") : ResponseParse::kNeedMore;
  }
  if (end + 4 > kMaxResponseHead) return Fail(out, "response head too large");
  out->head_bytes = end + 4;
  std::string_view head = buffer.substr(0, end + 2);  // every line ends with CRLF

  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  // "HTTP/1.x SSS reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return Fail(out, "bad status line");
  }
  const bool http10 = status_line[7] == '0';
  if (!http10 && status_line[7] != '1') return Fail(out, "bad HTTP version");
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') return Fail(out, "bad status code");
    status = status * 10 + (status_line[i] - '0');
  }
  if (status < 100) return Fail(out, "bad status code");
  out->status = status;
  bool keep_alive_token = false;
  bool close_token = false;

  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Fail(out, "bad header line");
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (EqualsNoCase(name, "content-length")) {
      if (value.empty() || value.size() > 15) return Fail(out, "bad Content-Length");
      uint64_t n = 0;
      for (char ch : value) {
        if (ch < '0' || ch > '9') return Fail(out, "bad Content-Length");
        n = n * 10 + uint64_t(ch - '0');
      }
      if (out->has_content_length && out->content_length != n) return Fail(out, "conflicting Content-Length");
      out->content_length = n;
      out->has_content_length = true;
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      if (!ListHasToken(value, "chunked")) return Fail(out, "unsupported Transfer-Encoding");
      out->chunked = true;
    } else if (EqualsNoCase(name, "connection")) {
      close_token |= ListHasToken(value, "close");
      keep_alive_token |= ListHasToken(value, "keep-alive");
    }
  }
  if (out->chunked && out->has_content_length) return Fail(out, "Content-Length with chunked");
  out->close = close_token || (http10 && !keep_alive_token);
  // Responses that never have a body (RFC 9112 6.3).
  if (status < 200 || status == 204 || status == 304) {
    out->content_length = 0;
    out->has_content_length = true;
    out->chunked = false;
  } else if (!out->has_content_length && !out->chunked) {
    // Body until close: not usable for pipelining; the server under test never does this.
    return Fail(out, "response without Content-Length or chunked framing");
  }
  return ResponseParse::kComplete;
}

ResponseParse FrameResponse(std::string_view buffer, size_t max_response_bytes, ResponseHead* out,
                            size_t* total_bytes) {
  *total_bytes = 0;
  const ResponseParse parsed = ParseResponseHead(buffer, out);
  if (parsed != ResponseParse::kComplete) {
    if (parsed == ResponseParse::kNeedMore && buffer.size() >= max_response_bytes) {
      return Fail(out, "response larger than the receive buffer");
    }
    return parsed;
  }
  if (out->chunked) {
    http::ChunkedDecoder decoder(max_response_bytes);
    const auto result = decoder.Decode(buffer.substr(out->head_bytes), [](std::string_view) {});
    if (result.status == http::ParseStatus::kError) return Fail(out, "bad chunked body");
    if (result.status == http::ParseStatus::kNeedMore) {
      return buffer.size() >= max_response_bytes ? Fail(out, "response larger than the receive buffer")
                                                 : ResponseParse::kNeedMore;
    }
    *total_bytes = out->head_bytes + result.consumed_bytes;
  } else {
    if (out->content_length > max_response_bytes || out->head_bytes + out->content_length > max_response_bytes) {
      return Fail(out, "response larger than the receive buffer");
    }
    if (buffer.size() < out->head_bytes + out->content_length) return ResponseParse::kNeedMore;
    *total_bytes = out->head_bytes + size_t(out->content_length);
  }
  return ResponseParse::kComplete;
}

}  // namespace sb::bench
