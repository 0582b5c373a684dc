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

// The sized deletes and (in libstdc++) the nothrow news forward to these. The nothrow news
// are replaced too, so that sanitizer runtimes, which intercept them, never pair their
// allocation with our free().
void* operator new(size_t size) { return CountedAllocate(size); }
void* operator new[](size_t size) { return CountedAllocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  ++allocation_count;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  ++allocation_count;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
