// One benchmark run: plan the connections, start the workers, drive the phases (set-up,
// load with warmup, drain, close) from the main thread, print the progress line and the
// report, and return the exit status (see UsageText()).
#pragma once

#include "perf/bench/options.h"

namespace sb::bench {

int RunBenchmark(const Options& options);

}  // namespace sb::bench
