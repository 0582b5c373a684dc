#include "engine/direct_message.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/http/encoding.h"

namespace sb::engine {
namespace {

struct Freer {
  void operator()(DirectRequest* r) const { DirectRequest::Free(r); }
};
using RequestPtr = std::unique_ptr<DirectRequest, Freer>;

class DirectMessageTest : public ::testing::Test {
 protected:
  // Parses "POST <target>" with extra header lines and a body; returns the request or the error.
  RequestPtr Parse(const std::string& target, const std::string& headers = "", const std::string& body = "hi") {
    raw_ = "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + headers +
           "\r\n" + body;
    http::ParseResult parsed = http::ParseRequestHead(raw_, http::Limits{}, &head_);
    EXPECT_EQ(parsed.status, http::ParseStatus::kComplete);
    std::string_view id;
    EXPECT_TRUE(MatchDirectRoute(head_.path, &id)) << head_.path;
    error_ = DirectError{};
    return RequestPtr(ParseDirectRequest(id, head_, std::string_view(raw_).substr(parsed.consumed_bytes), limits_, &error_));
  }
  std::string raw_;
  http::RequestHead head_;
  Limits limits_;
  DirectError error_;
};

TEST_F(DirectMessageTest, DefaultsAndDecoding) {
  auto r = Parse("/connections/dev%201/messages?topic=cmd%2Freboot");
  ASSERT_TRUE(r) << error_.message;
  EXPECT_EQ(r->client_id, "dev 1");
  EXPECT_EQ(r->topic, "cmd/reboot");
  EXPECT_FALSE(r->confirm);
  EXPECT_EQ(r->timeout_ms, 5000u);
  EXPECT_EQ(r->payload, "hi");
}

TEST_F(DirectMessageTest, ConfirmationAndTimeout) {
  auto r = Parse("/connections/d/messages?topic=a&confirmation=true&timeout=15");
  ASSERT_TRUE(r) << error_.message;
  EXPECT_TRUE(r->confirm);
  EXPECT_EQ(r->timeout_ms, 15000u);
  for (const char* bad : {"0", "16", "-1", "1.5", "abc", ""}) {
    EXPECT_FALSE(Parse(std::string("/connections/d/messages?topic=a&confirmation=true&timeout=") + bad)) << bad;
    EXPECT_EQ(error_.status, 400);
    EXPECT_STREQ(error_.reason, "INVALID_TIMEOUT");
  }
  // Ignored without confirmation, as AWS IoT documents.
  EXPECT_TRUE(Parse("/connections/d/messages?topic=a&timeout=99"));
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a&confirmation=yes"));
  EXPECT_STREQ(error_.reason, "INVALID_CONFIRMATION");
}

TEST_F(DirectMessageTest, ClientIdRules) {
  EXPECT_FALSE(Parse("/connections/%24aws/messages?topic=a"));
  EXPECT_STREQ(error_.reason, "INVALID_CLIENT_ID");
  EXPECT_FALSE(Parse("/connections//messages?topic=a"));
  EXPECT_STREQ(error_.reason, "INVALID_CLIENT_ID");
  EXPECT_FALSE(Parse("/connections/" + std::string(129, 'x') + "/messages?topic=a"));
  EXPECT_TRUE(Parse("/connections/" + std::string(128, 'x') + "/messages?topic=a"));
  EXPECT_FALSE(Parse("/connections/a%ZZ/messages?topic=a"));
  EXPECT_FALSE(Parse("/connections/%FF%FE/messages?topic=a"));  // not UTF-8
  auto r = Parse("/connections/a%2Fb/messages?topic=a");       // '/' travels encoded
  ASSERT_TRUE(r);
  EXPECT_EQ(r->client_id, "a/b");
}

TEST_F(DirectMessageTest, TopicRules) {
  EXPECT_FALSE(Parse("/connections/d/messages"));
  EXPECT_STREQ(error_.reason, "MISSING_TOPIC");
  for (const char* bad : {"", "a%2F%2B", "a/%23", "%24aws/things", "a%00b", "a+b", "1/2/3/4/5/6/7/8/9"}) {
    EXPECT_FALSE(Parse(std::string("/connections/d/messages?topic=") + bad)) << bad;
    EXPECT_STREQ(error_.reason, "INVALID_TOPIC") << bad;
  }
  EXPECT_TRUE(Parse("/connections/d/messages?topic=1/2/3/4/5/6/7/8"));
  EXPECT_FALSE(Parse("/connections/d/messages?topic=" + std::string(257, 't')));
  EXPECT_TRUE(Parse("/connections/d/messages?topic=" + std::string(256, 't')));
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a&topic=b"));
  EXPECT_STREQ(error_.reason, "DUPLICATE_PARAMETER");
}

TEST_F(DirectMessageTest, PayloadLimit) {
  limits_.max_direct_payload = 4;
  EXPECT_TRUE(Parse("/connections/d/messages?topic=a", "", "1234"));
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a", "", "12345"));
  EXPECT_EQ(error_.status, 413);
}

TEST_F(DirectMessageTest, Mqtt5Properties) {
  // [{"k1":"v1"},{"k2":"v2"}]
  std::string json = R"([{"k1":"v1"},{"k2":"v2"}])";
  char b64[128];
  auto n = http::Base64Encode(json, b64, sizeof(b64));
  ASSERT_TRUE(n);
  std::string headers = "x-amz-mqtt5-user-properties: " + std::string(b64, *n) + "\r\n" +
                        "x-amz-mqtt5-payload-format-indicator: UTF8_DATA\r\n" +
                        "x-amz-mqtt5-correlation-data: Y29ycg==\r\n";
  auto r = Parse("/connections/d/messages?topic=a&contentType=text%2Fplain&responseTopic=reply%2Fhere", headers);
  ASSERT_TRUE(r) << error_.message;
  EXPECT_EQ(r->properties.content_type, "text/plain");
  EXPECT_EQ(r->properties.response_topic, "reply/here");
  EXPECT_EQ(r->properties.correlation_data, "corr");
  EXPECT_EQ(r->properties.payload_format, 1);
  std::string expected_wire = std::string("\x26\x00\x02k1\x00\x02v1\x26\x00\x02k2\x00\x02v2", 18);
  EXPECT_EQ(r->properties.user_properties_wire, expected_wire);
}

TEST_F(DirectMessageTest, BadPropertyHeaders) {
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a", "x-amz-mqtt5-payload-format-indicator: TEXT\r\n"));
  EXPECT_STREQ(error_.reason, "INVALID_HEADER");
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a", "x-amz-mqtt5-correlation-data: !!!!\r\n"));
  EXPECT_STREQ(error_.reason, "INVALID_HEADER");
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a", "x-amz-mqtt5-user-properties: e30=\r\n"));  // {} not array
  EXPECT_STREQ(error_.reason, "INVALID_HEADER");
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a&responseTopic=a%2F%23"));
  EXPECT_STREQ(error_.reason, "INVALID_RESPONSE_TOPIC");
  EXPECT_FALSE(Parse("/connections/d/messages?topic=a", "x-amz-mqtt5-payload-format-indicator: UTF8_DATA\r\n", "\xff"));
  EXPECT_STREQ(error_.reason, "INVALID_PAYLOAD");
}

TEST(DirectRouteTest, MatchesOnlyTheRoute) {
  std::string_view id;
  EXPECT_TRUE(MatchDirectRoute("/connections/abc/messages", &id));
  EXPECT_EQ(id, "abc");
  EXPECT_FALSE(MatchDirectRoute("/connections/abc/message", &id));
  EXPECT_FALSE(MatchDirectRoute("/connections/a/b/messages", &id));
  EXPECT_FALSE(MatchDirectRoute("/connection/abc/messages", &id));
}

TEST(DirectOutcomeTest, StatusesMatchTheSpec) {
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kDelivered).status, 200);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kAcknowledged).status, 200);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kNotConnected).status, 404);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kDeviceRateLimited).status, 429);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kInflightWindowFull).status, 429);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kTimeout).status, 504);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kConnectionClosed).status, 504);
  EXPECT_EQ(DescribeOutcome(DirectOutcome::kInternalError).status, 500);
  auto [o, r] = UnpackOutcome(PackOutcome(DirectOutcome::kPubackRejected, 0x87));
  EXPECT_EQ(o, DirectOutcome::kPubackRejected);
  EXPECT_EQ(r, 0x87);
}

}  // namespace
}  // namespace sb::engine
