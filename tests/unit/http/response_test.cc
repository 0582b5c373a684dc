#include "net/http/response.h"

#include <gtest/gtest.h>

#include <string>

#include "net/http/parser.h"
#include "tests/support/allocation_counter.h"

namespace sb::http {
namespace {

// Designated initializers would read better, but g++ 12 warns about the fields they omit.
ResponseHead Head(int status, std::string_view content_type = {},
                  std::span<const HeaderField> extra_headers = {}, bool close_connection = false) {
  ResponseHead head;
  head.status = status;
  head.content_type = content_type;
  head.extra_headers = extra_headers;
  head.close_connection = close_connection;
  return head;
}

struct StringSink {
  std::string out;
  void Append(std::string_view bytes) { out.append(bytes); }
};

TEST(ReasonPhrase, EveryStatusTheProductUses) {
  const std::pair<int, std::string_view> expected[] = {
      {200, "OK"},
      {202, "Accepted"},
      {204, "No Content"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Content Too Large"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {100, "Continue"},
      {101, "Switching Protocols"},
  };
  for (const auto& [status, phrase] : expected) {
    EXPECT_EQ(ReasonPhrase(status), phrase) << status;
    StringSink sink;
    ASSERT_TRUE(WriteResponseHead(sink, Head(status), std::nullopt));
    EXPECT_EQ(sink.out, "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) +
                            "\r\n\r\n");
  }
  EXPECT_EQ(ReasonPhrase(299), "");
  EXPECT_EQ(ReasonPhrase(0), "");
}

TEST(WriteResponse, JsonBody) {
  const HeaderField extra[] = {{"x-trace-id", "abc"}, {"Retry-After", "1"}};
  StringSink sink;
  ASSERT_TRUE(WriteResponse(sink,
                            Head(429, "application/json", extra),
                            R"({"message":"slow down"})"));
  EXPECT_EQ(sink.out,
            "HTTP/1.1 429 Too Many Requests\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 23\r\n"
            "x-trace-id: abc\r\n"
            "Retry-After: 1\r\n"
            "\r\n"
            R"({"message":"slow down"})");
}

TEST(WriteResponse, EmptyBodyAndClose) {
  StringSink sink;
  ASSERT_TRUE(WriteResponse(sink, Head(202, {}, {}, true), ""));
  EXPECT_EQ(sink.out, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(WriteResponse, BodilessStatuses) {
  StringSink sink;
  ASSERT_TRUE(WriteResponse(sink, Head(204), ""));
  EXPECT_EQ(sink.out, "HTTP/1.1 204 No Content\r\n\r\n");
  sink.out.clear();
  EXPECT_FALSE(WriteResponse(sink, Head(204), "x"));
  EXPECT_FALSE(WriteResponse(sink, Head(304), "x"));
  EXPECT_FALSE(WriteResponse(sink, Head(101), "x"));
  EXPECT_EQ(sink.out, "");
}

TEST(WriteResponse, UnlistedStatusHasEmptyReason) {
  StringSink sink;
  ASSERT_TRUE(WriteResponse(sink, Head(299), "ok"));
  EXPECT_EQ(sink.out, "HTTP/1.1 299 \r\nContent-Length: 2\r\n\r\nok");
}

TEST(WriteResponse, RefusesInvalidHeadsWithoutWriting) {
  StringSink sink;
  const HeaderField injected_value[] = {{"X-Echo", "a\r\nSet-Cookie: x"}};
  const HeaderField lf_value[] = {{"X-Echo", "a\nb"}};
  const HeaderField bad_name[] = {{"X Echo", "a"}};
  const HeaderField empty_name[] = {{"", "a"}};
  EXPECT_FALSE(WriteResponse(sink, Head(200, {}, injected_value), "body"));
  EXPECT_FALSE(WriteResponse(sink, Head(200, {}, lf_value), "body"));
  EXPECT_FALSE(WriteResponse(sink, Head(200, {}, bad_name), "body"));
  EXPECT_FALSE(WriteResponse(sink, Head(200, {}, empty_name), "body"));
  EXPECT_FALSE(WriteResponse(sink, Head(200, "text/plain\r\nX: y", {}), "body"));
  EXPECT_FALSE(WriteResponse(sink, Head(99), ""));
  EXPECT_FALSE(WriteResponse(sink, Head(600), ""));
  EXPECT_FALSE(WriteResponseHead(sink, Head(-1), 5));
  EXPECT_EQ(sink.out, "");
  // Tabs and non-ASCII bytes are allowed in values.
  const HeaderField ok[] = {{"X-Echo", "a\tb caf\xc3\xa9"}};
  EXPECT_TRUE(WriteResponse(sink, Head(200, {}, ok), ""));
}

TEST(WriteResponseHead, ForStreamsAndHead) {
  const HeaderField sse[] = {{"Cache-Control", "no-cache"}};
  StringSink sink;
  ASSERT_TRUE(WriteResponseHead(
      sink, Head(200, "text/event-stream", sse),
      std::nullopt));
  EXPECT_EQ(sink.out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
  sink.out.clear();
  ASSERT_TRUE(WriteResponseHead(sink, Head(200), UINT64_MAX));
  EXPECT_EQ(sink.out, "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n");
}

TEST(WriteResponse, OutputParsesAsHttp) {
  // The writer's output is a well-formed message: reuse the request parser's header rules by
  // turning the status line into a request line.
  StringSink sink;
  const HeaderField extra[] = {{"correlation-id", "c-1"}};
  ASSERT_TRUE(WriteResponse(
      sink, Head(404, "application/json", extra),
      "{}"));
  const std::string as_request =
      "GET / HTTP/1.1\r\nHost: h\r\n" + sink.out.substr(sink.out.find("\r\n") + 2);
  RequestHead head;
  const ParseResult result = ParseRequestHead(as_request, Limits{}, &head);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_EQ(FindHeader(head, "correlation-id"), "c-1");
  EXPECT_EQ(as_request.substr(result.consumed_bytes), "{}");
}

TEST(FixedBufferSink, Overflow) {
  char buffer[16];
  FixedBufferSink sink(buffer, sizeof buffer);
  sink.Append("0123456789");
  EXPECT_FALSE(sink.overflowed());
  sink.Append("abcdefghij");
  EXPECT_TRUE(sink.overflowed());
  EXPECT_EQ(sink.view(), "0123456789abcdef");
  sink.Append("more");
  EXPECT_EQ(sink.size(), 16u);
  sink.Clear();
  EXPECT_FALSE(sink.overflowed());
  EXPECT_EQ(sink.view(), "");
  FixedBufferSink empty(nullptr, 0);
  empty.Append("");
  EXPECT_FALSE(empty.overflowed());
  empty.Append("x");
  EXPECT_TRUE(empty.overflowed());
}

TEST(WriteResponse, ErrorBodyEchoingInputDoesNotAllocate) {
  char buffer[512];
  FixedBufferSink sink(buffer, sizeof buffer);
  char body_buffer[256];
  FixedBufferSink body(body_buffer, sizeof body_buffer);
  const HeaderField extra[] = {{"x-trace-id", "0123456789abcdef"}};
  testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    sink.Clear();
    body.Clear();
    body.Append(R"({"message":"bad client ID: )");
    AppendJsonEscaped(body, "$evil\"\n\xff");
    body.Append(R"(","reason":"InvalidClientId"})");
    ASSERT_TRUE(WriteResponse(
        sink,
        Head(400, "application/json", extra),
        body.view()));
    ASSERT_FALSE(sink.overflowed());
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_NE(sink.view().find(R"(bad client ID: $evil\"\n\ufffd")"), std::string_view::npos);
}

}  // namespace
}  // namespace sb::http
