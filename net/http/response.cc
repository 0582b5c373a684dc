#include "net/http/response.h"

#include <charconv>

namespace sb::http {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

bool ValidResponseHead(const ResponseHead& head) {
  if (head.status < 100 || head.status > 599) return false;
  if (!IsValidFieldValue(head.content_type)) return false;
  for (const HeaderField& field : head.extra_headers) {
    if (!IsValidFieldName(field.name) || !IsValidFieldValue(field.value)) return false;
  }
  return true;
}

namespace internal {

void WriteResponseHead(const ResponseHead& head, std::optional<uint64_t> content_length,
                       void* sink, AppendFn append) {
  const char status_digits[3] = {static_cast<char>('0' + head.status / 100),
                                 static_cast<char>('0' + head.status / 10 % 10),
                                 static_cast<char>('0' + head.status % 10)};
  append(sink, "HTTP/1.1 ");
  append(sink, std::string_view(status_digits, 3));
  append(sink, " ");
  append(sink, ReasonPhrase(head.status));
  append(sink, "\r\n");
  if (!head.content_type.empty()) {
    append(sink, "Content-Type: ");
    append(sink, head.content_type);
    append(sink, "\r\n");
  }
  if (content_length) {
    char digits[20];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *content_length);
    append(sink, "Content-Length: ");
    append(sink, std::string_view(digits, static_cast<size_t>(end - digits)));
    append(sink, "\r\n");
  }
  if (head.close_connection) append(sink, "Connection: close\r\n");
  for (const HeaderField& field : head.extra_headers) {
    append(sink, field.name);
    append(sink, ": ");
    append(sink, field.value);
    append(sink, "\r\n");
  }
  append(sink, "\r\n");
}

}  // namespace internal
}  // namespace sb::http
