#include "engine/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace sb::engine {
namespace {

bool Parse(std::vector<std::string> args, Config* config, std::string* error) {
  std::vector<char*> argv{const_cast<char*>("switchboard")};
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), config, error, &help);
}

TEST(ConfigTest, DefaultsAreLoopbackAndAnonymous) {
  Config c;
  EXPECT_EQ(c.mqtt.port, 1883);
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_TRUE(c.AnonymousAllowed());
  c.http.host = "0.0.0.0";
  EXPECT_FALSE(c.AnonymousAllowed()) << "a non-loopback listener turns anonymous access off";
  c.anonymous = true;
  EXPECT_TRUE(c.AnonymousAllowed());
}

TEST(ConfigTest, FlagsOverrideTheFile) {
  std::string path = ::testing::TempDir() + "/sb.toml";
  {
    std::ofstream f(path);
    f << "# comment\n[server]\nshards = 3\nsender_rate = 7\nhttp = \"127.0.0.1:9000\"\n";
  }
  Config c;
  std::string error;
  ASSERT_TRUE(Parse({"--config", path, "--shards", "2", "--mqtt", "127.0.0.1:0"}, &c, &error)) << error;
  EXPECT_EQ(c.shards, 2u);
  EXPECT_EQ(c.limits.sender_rate, 7u);
  EXPECT_EQ(c.http.port, 9000);
  EXPECT_EQ(c.mqtt.port, 0);
}

TEST(ConfigTest, RejectsNonsense) {
  Config c;
  std::string error;
  EXPECT_FALSE(Parse({"--shards", "two"}, &c, &error));
  EXPECT_FALSE(Parse({"--mqtt", "localhost"}, &c, &error));
  EXPECT_FALSE(Parse({"--mqtt", "localhost:70000"}, &c, &error));
  EXPECT_FALSE(Parse({"--no-such-flag", "1"}, &c, &error));
  EXPECT_NE(error.find("no-such-flag"), std::string::npos);
  EXPECT_FALSE(Parse({"--anonymous", "maybe"}, &c, &error));
}

}  // namespace
}  // namespace sb::engine
