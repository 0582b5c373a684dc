// `sbctl rql check|eval` (tools/sbctl/rql_commands.cc): output formats and exit codes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/sbctl/commands.h"

namespace sb::sbctl {
namespace {

struct CommandRun {
  int status;
  std::string out;
  std::string err;
};

CommandRun RunRql(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int status = RqlCommand(static_cast<int>(argv.size()), argv.data());
  std::fflush(stderr);
  CommandRun run{status, testing::internal::GetCapturedStdout(),
                 testing::internal::GetCapturedStderr()};
  return run;
}

TEST(SbctlRql, CheckPrintsTheNormalizedFilter) {
  const CommandRun run = RunRql({"check", " and(eq(a,+5 ), \n like(b,'x*'))"});
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out, "and(eq(a,5),like(b,\"x*\"))\n");
  EXPECT_EQ(run.err, "");
}

TEST(SbctlRql, CheckReportsThePosition) {
  CommandRun run = RunRql({"check", "eq(username, 123)"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "error at position 12 (0-based): expected a value: a number, a quoted "
                     "string, true, false, null or time:now (no whitespace before it)\n");
  run = RunRql({"check", "eq(foo:bar,1)"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("error at position 3 (0-based): unknown placeholder prefix"),
            std::string::npos);
}

TEST(SbctlRql, EvalPrintsTrueOrFalse) {
  const std::string thing = R"({"thingId":"org.acme:lamp","attributes":{"n":42}})";
  CommandRun run = RunRql({"eval", "and(gt(attributes/n,41),eq(_namespace,\"org.acme\"))", thing});
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out, "true\n");
  run = RunRql({"eval", "lt(attributes/n,41)", thing});
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out, "false\n");
  const std::string message = R"({"topic":{"subject":"ask"},)"
                              R"("resource":{"path":"/inbox/messages/ask"}})";
  run = RunRql({"eval", R"(and(eq(topic:subject,"ask"),like(resource:path,"/inbox/*")))",
                message});
  EXPECT_EQ(run.out, "true\n");
}

TEST(SbctlRql, EvalRejectsBadInput) {
  CommandRun run = RunRql({"eval", "eq(a,", "{}"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("error at position 5 (0-based)"), std::string::npos);
  run = RunRql({"eval", "eq(a,1)", "{not json"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("invalid JSON document"), std::string::npos);
}

TEST(SbctlRql, WrongArgumentsPrintUsage) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"check"}, {"check", "a", "b"}, {"eval", "eq(a,1)"}, {"frobnicate", "x"}}) {
    const CommandRun run = RunRql(args);
    EXPECT_EQ(run.status, 2);
    EXPECT_NE(run.err.find("usage: sbctl rql"), std::string::npos);
  }
}

}  // namespace
}  // namespace sb::sbctl
