// Counts heap allocations made through the global operator new, to prove that code
// documented as allocation-free is. Linking allocation_counter.cc into a test binary
// replaces the global operator new/delete for that binary only.
#pragma once

#include <cstddef>

namespace sb::mqtt::testing {

// Allocations made by this process so far (all threads).
size_t AllocationCount();

// Allocations since construction.
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  size_t allocations() const { return AllocationCount() - start_; }

 private:
  size_t start_;
};

}  // namespace sb::mqtt::testing
