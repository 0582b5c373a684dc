// switchboard-bench: the bundled load generator (see README.md and --help).
#include <cstdio>
#include <string>

#include "perf/bench/options.h"
#include "perf/bench/run.h"

int main(int argc, char** argv) {
  sb::bench::Options options;
  std::string text;
  switch (sb::bench::ParseOptions(argc, argv, &options, &text)) {
    case sb::bench::ParseOutcome::kHelp:
      std::fputs(text.c_str(), stdout);
      return 0;
    case sb::bench::ParseOutcome::kError:
      std::fprintf(stderr, "switchboard-bench: %s\n", text.c_str());
      return 2;
    case sb::bench::ParseOutcome::kRun:
      break;
  }
  return sb::bench::RunBenchmark(options);
}
