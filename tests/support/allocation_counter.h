// Test support: proves "allocates nothing" claims. Linking sb_test_allocation_counter makes
// the test binary's global operator new count the calling thread's allocations (the one
// counting allocator of the project, perf/bench/alloc_counter.h).
#pragma once

#include <cstddef>

#include "perf/bench/alloc_counter.h"

namespace sb::testing {

// Allocations made on this thread since it started.
inline std::size_t AllocationCount() { return sb::bench::ThreadAllocations(); }

// Allocations made on this thread since the scope was opened.
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  std::size_t allocations() const { return AllocationCount() - start_; }

 private:
  std::size_t start_;
};

}  // namespace sb::testing
