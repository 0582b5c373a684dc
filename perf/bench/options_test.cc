#include "perf/bench/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sb::bench {
namespace {

ParseOutcome Parse(std::vector<const char*> args, Options* o, std::string* text) {
  args.insert(args.begin(), "switchboard-bench");
  return ParseOptions(int(args.size()), args.data(), o, text);
}

TEST(OptionsTest, DirectWithEveryLoadFlag) {
  Options o;
  std::string text;
  ASSERT_EQ(Parse({"direct", "--mqtt", "127.0.0.1:1884", "--http=localhost:8081", "--devices", "1000", "--senders", "8",
                   "--confirm", "--inflight", "4", "--payload", "256", "--duration", "2.5", "--warmup", "0",
                   "--threads", "2", "--json", "--mqtt-version", "3"},
                  &o, &text),
            ParseOutcome::kRun)
      << text;
  EXPECT_EQ(o.scenario, Scenario::kDirect);
  EXPECT_EQ(o.mqtt.port, 1884);
  EXPECT_EQ(o.http.host, "localhost");
  EXPECT_EQ(o.http.port, 8081);
  EXPECT_EQ(o.devices, 1000u);
  EXPECT_EQ(o.senders, 8u);
  EXPECT_TRUE(o.confirm);
  EXPECT_EQ(o.inflight, 4u);
  EXPECT_EQ(o.payload, 256u);
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_DOUBLE_EQ(o.warmup_s, 0);
  EXPECT_EQ(o.threads, 2u);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.mqtt_version, mqtt::Version::kV311);
  EXPECT_FALSE(o.open_loop());
}

TEST(OptionsTest, PubsubOpenLoopAndModes) {
  Options o;
  std::string text;
  ASSERT_EQ(Parse({"pubsub", "--mode", "fanin", "--publishers", "50", "--qos", "1", "--rate", "10000", "--count", "5000"},
                  &o, &text),
            ParseOutcome::kRun)
      << text;
  EXPECT_EQ(o.mode, PubsubMode::kFanin);
  EXPECT_EQ(o.publishers, 50u);
  EXPECT_EQ(o.qos, 1);
  EXPECT_TRUE(o.open_loop());
  EXPECT_DOUBLE_EQ(o.rate, 10000);
  EXPECT_EQ(o.count, 5000u);
}

TEST(OptionsTest, ConnectionsRateIsTheConnectRate) {
  Options o;
  std::string text;
  ASSERT_EQ(Parse({"connections", "--connections", "5000", "--rate", "2000", "--hold", "3", "--server-pid", "42",
                   "--source-addresses", "8"},
                  &o, &text),
            ParseOutcome::kRun)
      << text;
  EXPECT_DOUBLE_EQ(o.connect_rate, 2000);
  EXPECT_FALSE(o.open_loop());
  EXPECT_EQ(o.server_pid, 42);
  EXPECT_EQ(o.source_addresses, 8u);
}

TEST(OptionsTest, RejectsWhatCannotWork) {
  Options o;
  std::string text;
  EXPECT_EQ(Parse({}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"flood"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--qos", "2"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--payload", "10"}, &o, &text), ParseOutcome::kError);  // below the stamp
  EXPECT_EQ(Parse({"pubsub", "--mqtt", "nohost"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--mqtt", "h:70000"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--confirm"}, &o, &text), ParseOutcome::kError);  // direct only
  EXPECT_NE(text.find("does not apply"), std::string::npos);
  EXPECT_EQ(Parse({"pubsub", "--count", "10", "--duration", "3"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"direct", "--devices", "4", "--senders", "8"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--rate", "0"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--inflight"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--topic-prefix", "a/#"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--client-prefix", "a b"}, &o, &text), ParseOutcome::kError);
  EXPECT_EQ(Parse({"pubsub", "--duration", "1e999"}, &o, &text), ParseOutcome::kError);
}

TEST(OptionsTest, HelpNamesTheCoresUsed) {
  Options o;
  std::string text;
  ASSERT_EQ(Parse({"pubsub", "--help"}, &o, &text), ParseOutcome::kHelp);
  EXPECT_NE(text.find("--threads"), std::string::npos);
  EXPECT_NE(text.find("cores"), std::string::npos);
  EXPECT_EQ(text.find("--confirm"), std::string::npos);  // only the scenario's flags
  ASSERT_EQ(Parse({"--help"}, &o, &text), ParseOutcome::kHelp);
  EXPECT_NE(text.find("connections"), std::string::npos);
}

}  // namespace
}  // namespace sb::bench
