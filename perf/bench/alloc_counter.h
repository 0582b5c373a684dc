// Heap allocations made by the calling thread. Linking sb_alloc_counter into a binary replaces
// its global operator new (every form: plain, array, nothrow, aligned) with a counting one (a
// thread-local increment, then malloc), so that switchboard-bench can report that its load
// phase did not allocate, and the microbenchmarks and unit tests can prove that a hot path
// allocates nothing. Counting per thread keeps other threads (gtest's, a server's) out of a
// measurement.
#pragma once

#include <cstdint>

namespace sb::bench {

uint64_t ThreadAllocations();

}  // namespace sb::bench
