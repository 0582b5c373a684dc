// switchboard: the server. Reads flags / a config file, then runs the shard set until
// SIGTERM or SIGINT has drained it.
#include <cstdio>
#include <string>

#include "engine/config.h"
#include "engine/shard_set.h"

int main(int argc, char** argv) {
  sb::engine::Config config;
  std::string error;
  bool help = false;
  if (!sb::engine::ParseCommandLine(argc, argv, &config, &error, &help)) {
    std::fprintf(stderr, "switchboard: %s\n", error.c_str());
    return 2;
  }
  if (help) {
    std::fputs(sb::engine::CommandLineHelp().c_str(), stdout);
    return 0;
  }
  sb::engine::ShardSet server(std::move(config));
  return server.Run();
}
