// Counts heap allocations made by the current thread, so tests can prove that snapshot
// lookups (the shards' hot path) do not allocate. Linking allocation_counter.cc replaces
// the global operator new of the test binary.
#pragma once

#include <cstddef>

namespace sb::control::testing {

// Allocations by this thread since it started.
size_t AllocationCount();

// Allocations made while the scope was alive.
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  size_t allocations() const { return AllocationCount() - start_; }

 private:
  size_t start_;
};

}  // namespace sb::control::testing
