#include "tests/unit/control/allocation_counter.h"

#include <cstdlib>
#include <new>

namespace {
thread_local size_t allocation_count = 0;

void* CountedAllocate(size_t size) {
  ++allocation_count;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

namespace sb::control::testing {
size_t AllocationCount() { return allocation_count; }
}  // namespace sb::control::testing

// The plain and array forms are enough: the nothrow and sized forms forward to them.
void* operator new(size_t size) { return CountedAllocate(size); }
void* operator new[](size_t size) { return CountedAllocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
