// Heap allocations made by the calling thread. Linking alloc_counter.cc into a binary
// replaces the global operator new with a counting one (a thread-local increment, then
// malloc), so switchboard-bench can report that its load phase did not allocate.
#pragma once

#include <cstdint>

namespace sb::bench {

uint64_t ThreadAllocations();

}  // namespace sb::bench
