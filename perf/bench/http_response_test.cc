#include "perf/bench/http_response.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::bench {
namespace {

TEST(HttpResponseTest, ParsesAContentLengthResponse) {
  const std::string r =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"message\":\"ok\"}X";
  ResponseHead head;
  ASSERT_EQ(ParseResponseHead(r, &head), ResponseParse::kComplete);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.has_content_length);
  EXPECT_EQ(head.content_length, 17u);
  EXPECT_EQ(head.head_bytes, r.find("{"));
  EXPECT_FALSE(head.close);
}

TEST(HttpResponseTest, NeedsTheWholeHead) {
  const std::string r = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n";
  ResponseHead head;
  for (size_t n = 0; n < r.size(); ++n) {
    ASSERT_EQ(ParseResponseHead(std::string_view(r).substr(0, n), &head), ResponseParse::kNeedMore) << n;
  }
  ASSERT_EQ(ParseResponseHead(r, &head), ResponseParse::kComplete);
  EXPECT_EQ(head.status, 429);
}

TEST(HttpResponseTest, ConnectionCloseAndHttp10) {
  ResponseHead head;
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 413 X\r\nconnection: Close\r\ncontent-length: 2\r\n\r\n{}", &head),
            ResponseParse::kComplete);
  EXPECT_TRUE(head.close);
  ASSERT_EQ(ParseResponseHead("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &head), ResponseParse::kComplete);
  EXPECT_TRUE(head.close);
  ASSERT_EQ(ParseResponseHead("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", &head),
            ResponseParse::kComplete);
  EXPECT_FALSE(head.close);
}

TEST(HttpResponseTest, ChunkedAndBodilessStatuses) {
  ResponseHead head;
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &head), ResponseParse::kComplete);
  EXPECT_TRUE(head.chunked);
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 204 No Content\r\n\r\n", &head), ResponseParse::kComplete);
  EXPECT_EQ(head.content_length, 0u);
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 100 Continue\r\n\r\n", &head), ResponseParse::kComplete);
  EXPECT_EQ(head.status, 100);
}

TEST(HttpResponseTest, RejectsWhatIsNotHttp) {
  ResponseHead head;
  EXPECT_EQ(ParseResponseHead("SSH-2.0-OpenSSH\r\n\r\n", &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &head),
            ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &head), ResponseParse::kError);
  // Body until close cannot be pipelined.
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", &head), ResponseParse::kError);
}

TEST(HttpResponseTest, BoundsTheHead) {
  std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(kMaxResponseHead, 'a');
  ResponseHead head;
  EXPECT_EQ(ParseResponseHead(big, &head), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead(big + "\r\n\r\n", &head), ResponseParse::kError);
}

}  // namespace
}  // namespace sb::bench

namespace sb::bench {
namespace {

TEST(FrameResponseTest, PipelinedResponsesOneAfterAnother) {
  const std::string one = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
  const std::string two = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::string both = one + two;
  ResponseHead head;
  size_t total = 0;
  ASSERT_EQ(FrameResponse(both, 4096, &head, &total), ResponseParse::kComplete);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(total, one.size());
  ASSERT_EQ(FrameResponse(std::string_view(both).substr(total), 4096, &head, &total), ResponseParse::kComplete);
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(total, two.size());
  // Every proper prefix of a response needs more.
  for (size_t n = 0; n < two.size(); ++n) {
    ASSERT_EQ(FrameResponse(std::string_view(two).substr(0, n), 4096, &head, &total), ResponseParse::kNeedMore) << n;
  }
}

TEST(FrameResponseTest, ResponsesLargerThanTheBufferAreErrors) {
  ResponseHead head;
  size_t total = 0;
  EXPECT_EQ(FrameResponse("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 4096, &head, &total),
            ResponseParse::kError);
  EXPECT_EQ(FrameResponse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n", 4096, &head, &total),
            ResponseParse::kError);
  const std::string endless_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n" + std::string(200, 'x');
  EXPECT_EQ(FrameResponse(endless_chunk, endless_chunk.size(), &head, &total), ResponseParse::kError);
  EXPECT_EQ(FrameResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4096, &head, &total),
            ResponseParse::kError);
}

}  // namespace
}  // namespace sb::bench
