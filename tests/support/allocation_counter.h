// Test support: proves "allocates nothing" claims. Linking sb_test_allocation_counter
// replaces the global operator new/delete of the test binary with versions that count every
// allocation made on the calling thread (plain, array, nothrow and aligned forms), so other
// threads (gtest's, a server's) never disturb a measurement.
#pragma once

#include <cstddef>

namespace sb::testing {

// Allocations made on this thread since it started.
std::size_t AllocationCount();

// Allocations made on this thread since the scope was opened.
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  std::size_t allocations() const { return AllocationCount() - start_; }

 private:
  std::size_t start_;
};

}  // namespace sb::testing
