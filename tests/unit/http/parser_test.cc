#include "net/http/parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/support/allocation_counter.h"

namespace sb::http {
namespace {

ParseResult Parse(std::string_view buffer, RequestHead* head, const Limits& limits = Limits{}) {
  return ParseRequestHead(buffer, limits, head);
}

TEST(ParseRequestHead, SimpleGet) {
  const std::string request =
      "GET /api/2/things/org.acme:lamp?fields=a%2Cb&x HTTP/1.1\r\n"
      "Host: example.com:8080\r\n"
      "Accept:  application/json \t\r\n"
      "X-Empty:\r\n"
      "\r\n";
  RequestHead head;
  const ParseResult result = Parse(request, &head);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed_bytes, request.size());
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/api/2/things/org.acme:lamp?fields=a%2Cb&x");
  EXPECT_EQ(head.path, "/api/2/things/org.acme:lamp");
  EXPECT_EQ(head.query, "fields=a%2Cb&x");
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.host, "example.com:8080");
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.chunked);
  EXPECT_FALSE(head.content_length.has_value());
  EXPECT_FALSE(head.expect_continue);
  EXPECT_FALSE(head.upgrade_websocket);
  EXPECT_FALSE(head.has_body());
  ASSERT_EQ(head.headers().size(), 3u);
  EXPECT_EQ(head.headers()[1].name, "Accept");
  EXPECT_EQ(head.headers()[1].value, "application/json");
  EXPECT_EQ(head.headers()[2].name, "X-Empty");
  EXPECT_EQ(head.headers()[2].value, "");
  // Views point into the buffer: zero-copy.
  EXPECT_EQ(head.method.data(), request.data());
}

TEST(ParseRequestHead, FindHeaderIgnoresCase) {
  const std::string request =
      "POST /x HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\ncontent-type: second\r\n"
      "Content-Length: 5\r\n\r\nhello";
  RequestHead head;
  ASSERT_EQ(Parse(request, &head).status, ParseStatus::kComplete);
  EXPECT_EQ(FindHeader(head, "CONTENT-TYPE"), "text/plain");  // the first one
  EXPECT_EQ(FindHeader(head, "content-length"), "5");
  EXPECT_FALSE(FindHeader(head, "content-typ").has_value());
  EXPECT_FALSE(FindHeader(head, "authorization").has_value());
  EXPECT_EQ(head.content_length, 5u);
  EXPECT_TRUE(head.has_body());
}

TEST(ParseRequestHead, MethodIsCaseSensitiveToken) {
  RequestHead head;
  ASSERT_EQ(Parse("post / HTTP/1.1\r\nHost: h\r\n\r\n", &head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.method, "post");  // a valid token; the router decides it is not POST
  EXPECT_NE(head.method, "POST");
}

TEST(ParseRequestHead, Http10DefaultsAndKeepAlive) {
  RequestHead head;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_FALSE(head.keep_alive);
  EXPECT_EQ(head.host, "");  // HTTP/1.0 may omit Host

  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_TRUE(head.keep_alive);

  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.keep_alive);

  // 100-continue is ignored for HTTP/1.0 (RFC 9110 10.1.1).
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.expect_continue);
}

TEST(ParseRequestHead, ConnectionCloseAndExpect) {
  RequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\nExpect: 100-Continue\r\n"
                  "Content-Length: 10\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.keep_alive);
  EXPECT_TRUE(head.expect_continue);

  // Connection may be split over several lines.
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: bar, close\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.keep_alive);
}

TEST(ParseRequestHead, WebSocketUpgrade) {
  RequestHead head;
  ASSERT_EQ(Parse("GET /ws/2 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
                  "Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_TRUE(head.upgrade_websocket);
  EXPECT_TRUE(head.keep_alive);

  ASSERT_EQ(Parse("GET /ws/2 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.upgrade_websocket) << "Upgrade without Connection: upgrade";

  ASSERT_EQ(Parse("GET /ws/2 HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head.upgrade_websocket);
}

TEST(ParseRequestHead, ChunkedTransferEncodingIgnoresCase) {
  RequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n", &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_TRUE(head.chunked);
  EXPECT_TRUE(head.has_body());
  EXPECT_FALSE(head.content_length.has_value());
}

TEST(ParseRequestHead, ContentLengthBounds) {
  RequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_EQ(head.content_length, UINT64_MAX);
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_EQ(head.content_length, 7u);
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_FALSE(head.has_body());
}

TEST(ParseRequestHead, TargetForms) {
  RequestHead head;
  ASSERT_EQ(Parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.path, "*");
  EXPECT_EQ(head.query, "");

  ASSERT_EQ(Parse("GET http://example.com/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", &head)
                .status,
            ParseStatus::kComplete);
  EXPECT_EQ(head.path, "/a/b");
  EXPECT_EQ(head.query, "q=1");

  ASSERT_EQ(Parse("GET HTTPS://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n", &head).status,
            ParseStatus::kComplete);
  EXPECT_EQ(head.path, "/");
  EXPECT_EQ(head.query, "q");

  ASSERT_EQ(Parse("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", &head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.path, "/p");
  EXPECT_EQ(head.query, "");
}

TEST(ParseRequestHead, SkipsEmptyLinesBeforeRequestLine) {
  const std::string request = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead head;
  const ParseResult result = Parse(request, &head);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed_bytes, request.size());
  EXPECT_EQ(head.method, "GET");
}

TEST(ParseRequestHead, ObsTextAndTabAllowedInValues) {
  RequestHead head;
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\tbar\r\n\r\n";
  ASSERT_EQ(Parse(request, &head).status, ParseStatus::kComplete);
  EXPECT_EQ(FindHeader(head, "x-name"), "caf\xc3\xa9\tbar");
}

struct Rejection {
  const char* name;
  std::string request;
  int status;
};

void PrintTo(const Rejection& rejection, std::ostream* os) { *os << rejection.name; }

class ParseRequestHeadRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(ParseRequestHeadRejects, WithStatus) {
  const Rejection& c = GetParam();
  RequestHead head;
  const ParseResult result = Parse(c.request, &head);
  ASSERT_EQ(result.status, ParseStatus::kError) << c.name;
  EXPECT_EQ(result.error.http_status, c.status) << c.name << ": " << result.error.reason;
  EXPECT_GT(std::strlen(result.error.reason), 0u);
  EXPECT_EQ(result.consumed_bytes, 0u);
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: h\r\n";

INSTANTIATE_TEST_SUITE_P(
    Strictness, ParseRequestHeadRejects,
    ::testing::Values(
        // Line endings.
        Rejection{"BareLfRequestLine", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        Rejection{"BareLfHeader", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
        Rejection{"BareLfEnd", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
        Rejection{"BareLfLeading", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"BareCrInValue", kGet + "X: a\rb\r\n\r\n", 400},
        Rejection{"BareCrEndsRequestLine", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
        // Header syntax.
        Rejection{"ObsFold", kGet + "X: a\r\n b\r\n\r\n", 400},
        Rejection{"ObsFoldTab", kGet + "X: a\r\n\tb\r\n\r\n", 400},
        Rejection{"FirstHeaderIndented", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
        Rejection{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        Rejection{"TabBeforeColon", kGet + "X\t: y\r\n\r\n", 400},
        Rejection{"SpaceInName", kGet + "X Y: z\r\n\r\n", 400},
        Rejection{"BadNameChar", kGet + "X(Y): z\r\n\r\n", 400},
        Rejection{"NonAsciiName", kGet + "X\xc3\xa9: z\r\n\r\n", 400},
        Rejection{"EmptyName", kGet + ": z\r\n\r\n", 400},
        Rejection{"NoColon", kGet + "Xyz\r\n\r\n", 400},
        Rejection{"NulInValue", kGet + std::string("X: a\0b\r\n\r\n", 10), 400},
        Rejection{"CtlInValue", kGet + "X: a\x01" "b\r\n\r\n", 400},
        Rejection{"DelInValue", kGet + "X: a\x7f\r\n\r\n", 400},
        // Request line.
        Rejection{"BadMethodChar", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"EmptyMethod", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"DoubleSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"CtlInTarget", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"DelInTarget", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"NonAsciiTarget", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"FragmentInTarget", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"AuthorityForm", "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"AsteriskNotOptions", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"AbsoluteWithoutAuthority", "GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"NoVersion", "GET /\r\nHost: h\r\n\r\n", 400},
        Rejection{"LowercaseVersion", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        Rejection{"VersionTrailingSpace", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        Rejection{"VersionTooLong", "GET / HTTP/1.11\r\nHost: h\r\n\r\n", 400},
        Rejection{"VersionNoDot", "GET / HTTP/11\r\nHost: h\r\n\r\n", 400},
        Rejection{"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        Rejection{"Http12", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
        Rejection{"Http09", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
        // Framing.
        Rejection{"ContentLengthAndTransferEncoding",
                  kGet + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        Rejection{"TransferEncodingAndContentLength",
                  kGet + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
        Rejection{"DuplicateEqualContentLength",
                  kGet + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
        Rejection{"DuplicateDifferentContentLength",
                  kGet + "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", 400},
        Rejection{"ContentLengthList", kGet + "Content-Length: 5, 5\r\n\r\n", 400},
        Rejection{"ContentLengthAlpha", kGet + "Content-Length: abc\r\n\r\n", 400},
        Rejection{"ContentLengthNegative", kGet + "Content-Length: -1\r\n\r\n", 400},
        Rejection{"ContentLengthPlus", kGet + "Content-Length: +5\r\n\r\n", 400},
        Rejection{"ContentLengthInnerSpace", kGet + "Content-Length: 1 2\r\n\r\n", 400},
        Rejection{"ContentLengthEmpty", kGet + "Content-Length:\r\n\r\n", 400},
        Rejection{"ContentLengthHex", kGet + "Content-Length: 0x10\r\n\r\n", 400},
        Rejection{"ContentLengthOverflow",
                  kGet + "Content-Length: 18446744073709551616\r\n\r\n", 400},
        Rejection{"ContentLengthHugeOverflow",
                  kGet + "Content-Length: 99999999999999999999999999\r\n\r\n", 400},
        Rejection{"TransferEncodingGzip", kGet + "Transfer-Encoding: gzip\r\n\r\n", 501},
        Rejection{"TransferEncodingIdentity", kGet + "Transfer-Encoding: identity\r\n\r\n", 501},
        Rejection{"TransferEncodingGzipChunked",
                  kGet + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
        Rejection{"TransferEncodingChunkedWithParams",
                  kGet + "Transfer-Encoding: chunked;q=1\r\n\r\n", 501},
        Rejection{"ChunkedNotLast", kGet + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
        Rejection{"ChunkedTwice", kGet + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
        Rejection{"ChunkedTwoLines",
                  kGet + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        Rejection{"ChunkedEmptyElement", kGet + "Transfer-Encoding: chunked,\r\n\r\n", 400},
        Rejection{"TransferEncodingEmpty", kGet + "Transfer-Encoding:\r\n\r\n", 400},
        Rejection{"TransferEncodingHttp10",
                  "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        // Host.
        Rejection{"Http11WithoutHost", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
        Rejection{"TwoHosts", kGet + "Host: h\r\n\r\n", 400},
        Rejection{"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        Rejection{"HostWithSlash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        Rejection{"HostWithAt", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400}),
    [](const ::testing::TestParamInfo<Rejection>& info) { return std::string(info.param.name); });

// Every prefix of an invalid request is either NeedMore or the same error.
TEST_P(ParseRequestHeadRejects, PrefixesNeverDisagree) {
  const Rejection& c = GetParam();
  RequestHead head;
  for (size_t k = 0; k < c.request.size(); ++k) {
    const ParseResult result = Parse(std::string_view(c.request).substr(0, k), &head);
    if (result.status == ParseStatus::kError) {
      EXPECT_EQ(result.error.http_status, c.status) << c.name << " prefix " << k;
    } else {
      EXPECT_EQ(result.status, ParseStatus::kNeedMore) << c.name << " prefix " << k;
    }
  }
}

std::string RequestWithHeaders(size_t count) {
  std::string request = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (size_t i = 1; i < count; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  return request + "\r\n";
}

TEST(ParseRequestHead, HeaderCountLimit) {
  RequestHead head;
  const ParseResult at_limit = Parse(RequestWithHeaders(100), &head);
  ASSERT_EQ(at_limit.status, ParseStatus::kComplete);
  EXPECT_EQ(head.headers().size(), 100u);

  const ParseResult over = Parse(RequestWithHeaders(101), &head);
  ASSERT_EQ(over.status, ParseStatus::kError);
  EXPECT_EQ(over.error.http_status, 431);

  Limits small;
  small.max_headers = 3;
  EXPECT_EQ(Parse(RequestWithHeaders(3), &head, small).status, ParseStatus::kComplete);
  EXPECT_EQ(Parse(RequestWithHeaders(4), &head, small).error.http_status, 431);

  // Above the inline capacity the limit is the capacity.
  Limits huge;
  huge.max_headers = 100000;
  huge.max_head_bytes = 1 << 20;
  EXPECT_EQ(Parse(RequestWithHeaders(kHeaderCapacity), &head, huge).status,
            ParseStatus::kComplete);
  EXPECT_EQ(Parse(RequestWithHeaders(kHeaderCapacity + 1), &head, huge).error.http_status, 431);
}

// A request whose head is exactly `size` bytes.
std::string RequestOfSize(size_t size) {
  const std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  const std::string suffix = "\r\n\r\n";
  return prefix + std::string(size - prefix.size() - suffix.size(), 'a') + suffix;
}

TEST(ParseRequestHead, HeadSizeLimit) {
  Limits limits;
  RequestHead head;
  const std::string at_limit = RequestOfSize(limits.max_head_bytes);
  ASSERT_EQ(at_limit.size(), 16384u);
  const ParseResult ok = Parse(at_limit + "GET", &head, limits);
  ASSERT_EQ(ok.status, ParseStatus::kComplete);
  EXPECT_EQ(ok.consumed_bytes, 16384u);

  const std::string over = RequestOfSize(limits.max_head_bytes + 1);
  EXPECT_EQ(Parse(over, &head, limits).error.http_status, 431);
  // Incomplete: NeedMore while fewer than max_head_bytes have arrived...
  EXPECT_EQ(Parse(std::string_view(over).substr(0, 16384), &head, limits).status,
            ParseStatus::kNeedMore);
  // ...and 431 as soon as more than that have arrived without the end of the head.
  EXPECT_EQ(Parse(std::string_view(over).substr(0, 16385), &head, limits).error.http_status, 431);
  // Endless header line: rejected after the limit without waiting for its end.
  const std::string endless = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a');
  EXPECT_EQ(Parse(endless, &head, limits).error.http_status, 431);
  // Leading empty lines count toward the limit.
  std::string padded;
  for (int i = 0; i < 8192; ++i) padded += "\r\n";
  EXPECT_EQ(Parse(padded + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", &head, limits).error.http_status,
            431);
}

TEST(ParseRequestHead, PipelinedRequestsWithBodies) {
  const std::string buffer =
      "POST /connections/dev1/messages?topic=a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
      "hello"
      "POST /connections/dev2/messages?topic=b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
      "abc"
      "GET /health HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /partial HTTP/1.1\r\nHo";
  std::string_view rest = buffer;
  std::vector<std::string> paths, bodies;
  RequestHead head;
  while (true) {
    const ParseResult result = Parse(rest, &head);
    if (result.status != ParseStatus::kComplete) {
      EXPECT_EQ(result.status, ParseStatus::kNeedMore);
      break;
    }
    paths.emplace_back(head.path);
    const size_t body = head.content_length.value_or(0);
    bodies.emplace_back(rest.substr(result.consumed_bytes, body));
    rest.remove_prefix(result.consumed_bytes + body);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/connections/dev1/messages",
                                              "/connections/dev2/messages", "/health"}));
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello", "abc", ""}));
  EXPECT_EQ(rest, "GET /partial HTTP/1.1\r\nHo");
}

TEST(ParseRequestHead, PipelinedChunkedThenGet) {
  const std::string buffer =
      "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead head;
  ParseResult first = Parse(buffer, &head);
  ASSERT_EQ(first.status, ParseStatus::kComplete);
  ASSERT_TRUE(head.chunked);
  ChunkedDecoder decoder(1024);
  std::string body;
  const auto decoded = decoder.Decode(std::string_view(buffer).substr(first.consumed_bytes),
                                      [&](std::string_view piece) { body.append(piece); });
  ASSERT_EQ(decoded.status, ParseStatus::kComplete);
  EXPECT_EQ(body, "hello world");
  const std::string_view second = std::string_view(buffer).substr(first.consumed_bytes +
                                                                  decoded.consumed_bytes);
  ASSERT_EQ(Parse(second, &head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.path, "/b");
}

struct Snapshot {
  ParseStatus status;
  size_t consumed;
  std::string method, target, path, query, host;
  int version_minor;
  std::optional<uint64_t> content_length;
  bool chunked, keep_alive, expect_continue, upgrade_websocket;
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(const ParseResult& r, const RequestHead& h) {
  Snapshot s{r.status,  r.consumed_bytes, std::string(h.method), std::string(h.target),
             std::string(h.path), std::string(h.query), std::string(h.host),
             h.version_minor, h.content_length, h.chunked, h.keep_alive, h.expect_continue,
             h.upgrade_websocket, {}};
  for (const HeaderField& f : h.headers()) s.headers.emplace_back(f.name, f.value);
  return s;
}

TEST(ParseRequestHead, SplitAtEveryOffsetMatchesWhole) {
  const std::vector<std::string> requests = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "\r\nPOST /connections/c%241/messages?topic=a%2Fb&confirmation=true HTTP/1.1\r\n"
      "Host: example.com\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n"
      "Content-Type: application/octet-stream\r\nContent-Length: 4\r\n"
      "Expect: 100-continue\r\n\r\nbody",
      "GET /ws/2 HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nGET / HTTP/1.1\r\n",
      "PUT /x HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding-X: no\r\n\r\n",
  };
  for (const std::string& request : requests) {
    RequestHead head;
    const ParseResult whole = Parse(request, &head);
    ASSERT_EQ(whole.status, ParseStatus::kComplete) << request;
    const Snapshot expected = Take(whole, head);
    // Feeding 1..n bytes: NeedMore until the head is complete, then the same result.
    for (size_t k = 0; k <= request.size(); ++k) {
      RequestHead partial;
      const ParseResult result = Parse(std::string_view(request).substr(0, k), &partial);
      if (k < whole.consumed_bytes) {
        ASSERT_EQ(result.status, ParseStatus::kNeedMore) << "offset " << k << " of " << request;
      } else {
        ASSERT_EQ(Take(result, partial), expected) << "offset " << k << " of " << request;
      }
    }
  }
}

TEST(ParseRequestHead, ReusedHeadIsReset) {
  RequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: upgrade\r\n"
                  "Upgrade: websocket\r\nExpect: 100-continue\r\n\r\n",
                  &head)
                .status,
            ParseStatus::kComplete);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &head).status, ParseStatus::kComplete);
  EXPECT_FALSE(head.content_length.has_value());
  EXPECT_FALSE(head.upgrade_websocket);
  EXPECT_FALSE(head.expect_continue);
  EXPECT_EQ(head.host, "");
  EXPECT_EQ(head.headers().size(), 0u);
}

TEST(ParseRequestHead, DoesNotAllocate) {
  const std::string request = RequestWithHeaders(100);
  auto head = std::make_unique<RequestHead>();
  testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    const ParseResult result = Parse(request, head.get());
    ASSERT_EQ(result.status, ParseStatus::kComplete);
    ASSERT_TRUE(FindHeader(*head, "x-99").has_value());
    ASSERT_EQ(Parse(std::string_view(request).substr(0, 500), head.get()).status,
              ParseStatus::kNeedMore);
    ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: h\r\n\n", head.get()).status, ParseStatus::kError);
  }
  EXPECT_EQ(scope.allocations(), 0u);
}

// ---- ChunkedDecoder ----

struct Decoded {
  ParseStatus status;
  std::string body;
  size_t consumed;
  int http_status;
};

Decoded DecodeAll(std::string_view input, uint64_t max_body = 1 << 20) {
  ChunkedDecoder decoder(max_body);
  std::string body;
  const auto result = decoder.Decode(input, [&](std::string_view piece) { body.append(piece); });
  return {result.status, body, result.consumed_bytes, result.error.http_status};
}

TEST(ChunkedDecoder, DecodesChunks) {
  const Decoded d = DecodeAll("5\r\nhello\r\nA\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\nNEXT");
  ASSERT_EQ(d.status, ParseStatus::kComplete);
  EXPECT_EQ(d.body, "hello0123456789abcdefghij");
  EXPECT_EQ(d.consumed, std::string_view("5\r\nhello\r\nA\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n")
                            .size());
}

TEST(ChunkedDecoder, EmptyBody) {
  const Decoded d = DecodeAll("0\r\n\r\n");
  EXPECT_EQ(d.status, ParseStatus::kComplete);
  EXPECT_EQ(d.body, "");
  EXPECT_EQ(d.consumed, 5u);
  // Leading zeros are fine within the digit bound.
  EXPECT_EQ(DecodeAll("0000000000000003\r\nabc\r\n0\r\n\r\n").body, "abc");
}

TEST(ChunkedDecoder, ExtensionsAndTrailersAreIgnored) {
  const Decoded d = DecodeAll(
      "3;name=value;flag\r\nabc\r\n2 ; q=\"x y\"\r\nde\r\n0;last\r\n"
      "Checksum: 1234\r\nX-Other:\tv\r\n\r\n");
  ASSERT_EQ(d.status, ParseStatus::kComplete) << d.http_status;
  EXPECT_EQ(d.body, "abcde");
}

struct ChunkedRejection {
  const char* name;
  std::string input;
  int status;
  uint64_t max_body = 1 << 20;
};

void PrintTo(const ChunkedRejection& rejection, std::ostream* os) { *os << rejection.name; }

class ChunkedDecoderRejects : public ::testing::TestWithParam<ChunkedRejection> {};

TEST_P(ChunkedDecoderRejects, WithStatus) {
  const ChunkedRejection& c = GetParam();
  const Decoded d = DecodeAll(c.input, c.max_body);
  ASSERT_EQ(d.status, ParseStatus::kError) << c.name;
  EXPECT_EQ(d.http_status, c.status) << c.name;
  EXPECT_LE(d.consumed, c.input.size());
}

INSTANTIATE_TEST_SUITE_P(
    Strictness, ChunkedDecoderRejects,
    ::testing::Values(
        ChunkedRejection{"EmptySize", "\r\nabc\r\n0\r\n\r\n", 400},
        ChunkedRejection{"NonHexSize", "g\r\n", 400},
        ChunkedRejection{"NegativeSize", "-5\r\nhello\r\n", 400},
        ChunkedRejection{"HexPrefix", "0x5\r\nhello\r\n", 400},
        ChunkedRejection{"LeadingSpace", " 5\r\nhello\r\n", 400},
        ChunkedRejection{"TrailingSpaceWithoutExtension", "5 \r\nhello\r\n", 400},
        ChunkedRejection{"TooManyDigits", "00000000000000005\r\nhello\r\n", 400},
        ChunkedRejection{"BareLfAfterSize", "5\nhello\r\n0\r\n\r\n", 400},
        ChunkedRejection{"BareCrAfterSize", "5\rhello\r\n0\r\n\r\n", 400},
        ChunkedRejection{"BareLfAfterData", "5\r\nhello\n0\r\n\r\n", 400},
        ChunkedRejection{"DataLongerThanSize", "5\r\nhelloX\r\n0\r\n\r\n", 400},
        ChunkedRejection{"DataShorterThanSize", "5\r\nhell\r\n0\r\n\r\n", 400},
        ChunkedRejection{"LfInExtension", "5;a\nb\r\nhello\r\n0\r\n\r\n", 400},
        ChunkedRejection{"CtlInExtension", "5;a\x01\r\nhello\r\n0\r\n\r\n", 400},
        ChunkedRejection{"ExtensionTooLong", "5;" + std::string(5000, 'a') + "\r\n", 400},
        ChunkedRejection{"BareLfAtEnd", "0\r\n\n", 400},
        ChunkedRejection{"TrailerObsFold", "0\r\nA: b\r\n c\r\n\r\n", 400},
        ChunkedRejection{"TrailerWithoutColon", "0\r\nbad\r\n\r\n", 400},
        ChunkedRejection{"TrailerSpaceBeforeColon", "0\r\nA : b\r\n\r\n", 400},
        ChunkedRejection{"TrailerBareLf", "0\r\nA: b\n\r\n", 400},
        ChunkedRejection{"TrailerCtl", "0\r\nA: b\x02\r\n\r\n", 400},
        ChunkedRejection{"TrailerTooLarge",
                         "0\r\nA: " + std::string(20000, 'x') + "\r\n\r\n", 431},
        ChunkedRejection{"ChunkOverLimit", "b\r\nhello world\r\n0\r\n\r\n", 413, 10},
        ChunkedRejection{"SumOverLimit", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 413, 10},
        ChunkedRejection{"MaxSizeNoOverflow", "ffffffffffffffff\r\n", 413, 10},
        ChunkedRejection{"MaxSizeAfterData", "1\r\na\r\nffffffffffffffff\r\n", 413,
                         UINT64_MAX}),
    [](const ::testing::TestParamInfo<ChunkedRejection>& info) {
      return std::string(info.param.name);
    });

TEST(ChunkedDecoder, LimitReachedExactly) {
  const Decoded d = DecodeAll("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10);
  EXPECT_EQ(d.status, ParseStatus::kComplete);
  EXPECT_EQ(d.body, "helloworld");
}

TEST(ChunkedDecoder, OverLimitReportedBeforeData) {
  ChunkedDecoder decoder(4);
  size_t calls = 0;
  const auto result = decoder.Decode("5\r\n", [&](std::string_view) { ++calls; });
  ASSERT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error.http_status, 413);
  EXPECT_EQ(calls, 0u);
}

TEST(ChunkedDecoder, ErrorIsSticky) {
  ChunkedDecoder decoder(100);
  auto ignore = [](std::string_view) {};
  ASSERT_EQ(decoder.Decode("zz", ignore).status, ParseStatus::kError);
  const auto again = decoder.Decode("5\r\nhello\r\n0\r\n\r\n", ignore);
  EXPECT_EQ(again.status, ParseStatus::kError);
  EXPECT_EQ(again.error.http_status, 400);
  EXPECT_EQ(again.consumed_bytes, 0u);
  decoder.Reset();
  EXPECT_EQ(decoder.Decode("0\r\n\r\n", ignore).status, ParseStatus::kComplete);
}

TEST(ChunkedDecoder, DoneConsumesNothingMore) {
  ChunkedDecoder decoder(100);
  auto ignore = [](std::string_view) {};
  ASSERT_EQ(decoder.Decode("2\r\nab\r\n0\r\n\r\n", ignore).status, ParseStatus::kComplete);
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoder.body_bytes(), 2u);
  const auto after = decoder.Decode("GET /", ignore);
  EXPECT_EQ(after.status, ParseStatus::kComplete);
  EXPECT_EQ(after.consumed_bytes, 0u);
  decoder.Reset();
  EXPECT_FALSE(decoder.done());
  EXPECT_EQ(decoder.body_bytes(), 0u);
}

const std::string kChunkedBody =
    "4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n10\r\n0123456789abcdef\r\n"
    "0\r\nExpires: never\r\nX: y\r\n\r\n";
const std::string kChunkedDecoded = "Wikipedia in\r\n\r\nchunks.0123456789abcdef";

TEST(ChunkedDecoder, SplitAtEveryOffset) {
  const std::string input = kChunkedBody + "GET / HTTP/1.1\r\n";
  for (size_t split = 0; split <= input.size(); ++split) {
    ChunkedDecoder decoder(1024);
    std::string body;
    auto sink = [&](std::string_view piece) { body.append(piece); };
    const auto first = decoder.Decode(std::string_view(input).substr(0, split), sink);
    size_t consumed = first.consumed_bytes;
    ParseStatus status = first.status;
    if (status == ParseStatus::kNeedMore) {
      ASSERT_EQ(consumed, split);
      const auto second = decoder.Decode(std::string_view(input).substr(split), sink);
      consumed += second.consumed_bytes;
      status = second.status;
    }
    ASSERT_EQ(status, ParseStatus::kComplete) << "split " << split;
    EXPECT_EQ(body, kChunkedDecoded) << "split " << split;
    EXPECT_EQ(consumed, kChunkedBody.size()) << "split " << split;
  }
}

TEST(ChunkedDecoder, ByteByByteAndRandomSlices) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    ChunkedDecoder decoder(1024);
    std::string body;
    size_t pos = 0;
    ParseStatus status = ParseStatus::kNeedMore;
    while (status == ParseStatus::kNeedMore && pos < kChunkedBody.size()) {
      const size_t slice =
          round == 0 ? 1 : std::uniform_int_distribution<size_t>(0, 9)(rng);  // 0 is allowed
      const auto result = decoder.Decode(std::string_view(kChunkedBody).substr(pos, slice),
                                         [&](std::string_view piece) { body.append(piece); });
      status = result.status;
      pos += result.consumed_bytes;
    }
    ASSERT_EQ(status, ParseStatus::kComplete);
    EXPECT_EQ(pos, kChunkedBody.size());
    EXPECT_EQ(body, kChunkedDecoded);
  }
}

TEST(ChunkedDecoder, DecodeInPlace) {
  std::string buffer = kChunkedBody + "tail";
  ChunkedDecoder decoder(1024);
  const auto result = decoder.DecodeInPlace(std::span<char>(buffer.data(), buffer.size()));
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed_bytes, kChunkedBody.size());
  EXPECT_EQ(std::string_view(buffer).substr(0, result.decoded_bytes), kChunkedDecoded);
  EXPECT_EQ(std::string_view(buffer).substr(kChunkedBody.size()), "tail");  // untouched
}

TEST(ChunkedDecoder, DecodeInPlaceAcrossSlices) {
  // A server compacts each received slice in place, then appends the decoded bytes elsewhere.
  std::string decoded;
  ChunkedDecoder decoder(1024);
  for (size_t pos = 0; pos < kChunkedBody.size(); pos += 7) {
    std::string slice = kChunkedBody.substr(pos, 7);
    const auto result = decoder.DecodeInPlace(std::span<char>(slice.data(), slice.size()));
    decoded.append(slice.data(), result.decoded_bytes);
    if (result.status == ParseStatus::kComplete) break;
    ASSERT_EQ(result.status, ParseStatus::kNeedMore);
  }
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoded, kChunkedDecoded);
}

TEST(ChunkedDecoder, DoesNotAllocate) {
  std::string buffer = kChunkedBody;
  testing::AllocationScope scope;
  size_t total = 0;
  for (int i = 0; i < 100; ++i) {
    ChunkedDecoder decoder(1024);
    const auto result = decoder.Decode(buffer, [&](std::string_view piece) { total += piece.size(); });
    ASSERT_EQ(result.status, ParseStatus::kComplete);
  }
  ChunkedDecoder in_place(1024);
  ASSERT_EQ(in_place.DecodeInPlace(std::span<char>(buffer.data(), buffer.size())).status,
            ParseStatus::kComplete);
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(total, 100 * kChunkedDecoded.size());
}

}  // namespace
}  // namespace sb::http
