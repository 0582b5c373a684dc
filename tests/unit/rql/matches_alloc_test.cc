// Filter::Matches() must not allocate (SPEC 3.7): every global operator new in this test
// binary is counted, and evaluation of filters that exercise every code path must add none.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <simdjson.h>

#include "rql/filter.h"

// The replacements below pair malloc with free; GCC cannot see that and warns when it inlines
// a library's `new` next to our `delete`.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<size_t> g_allocations{0};

void* CountedAllocate(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* CountedAllocateAligned(size_t size, std::align_val_t alignment) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t align = static_cast<size_t>(alignment);
  const size_t rounded = (size + align - 1) / align * align;
  if (void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t size) { return CountedAllocate(size); }
void* operator new[](size_t size) { return CountedAllocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(size_t size, std::align_val_t a) { return CountedAllocateAligned(size, a); }
void* operator new[](size_t size, std::align_val_t a) { return CountedAllocateAligned(size, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace sb::rql {
namespace {

TEST(RqlMatchesAllocation, CountingWorks) {
  const size_t before = g_allocations.load();
  auto* leak_check = new std::vector<int>(100);
  delete leak_check;
  EXPECT_GE(g_allocations.load() - before, 2u);
}

TEST(RqlMatchesAllocation, MatchesNeverAllocates) {
  constexpr const char* kThing = R"({
    "thingId": "org.acme:lamp-1",
    "attributes": {"n": 42, "d": 22.26, "big": 18446744073709551615, "s": "ccc_string",
                   "numstr": "1.5e3",
                   "long_numstr": "0.00000000000000000000000000000000000001234567890123456789",
                   "b": true, "z": null, "e": "", "o": {}, "tags": ["red", "green", {"x": 1}],
                   "rooms": [{"name": "kitchen", "t": 21}, {"name": "hall", "t": [18, [19]]}],
                   "modified": "2024-05-01T10:00:00.123Z"},
    "features": {"lamp": {"properties": {"on": true}}}
  })";
  simdjson::dom::parser parser;
  simdjson::dom::element thing;
  ASSERT_EQ(parser.parse(kThing, std::strlen(kThing)).get(thing), simdjson::SUCCESS);

  const char* const kFilters[] = {
      "eq(attributes/n,42)",
      "ne(attributes/missing,1)",
      "and(gt(attributes/d,22),lt(attributes/d,23.5),ge(attributes/big,1))",
      "or(eq(attributes/s,\"nope\"),le(attributes/s,\"d\"))",
      "ge(attributes/n,\"41\")",
      "gt(attributes/numstr,1000)",
      "gt(attributes/long_numstr,0.0)",
      "ne(attributes/long_numstr,\"x\")",
      "in(attributes/tags,\"blue\",\"green\")",
      "like(attributes/s,\"c*_str?ng\")",
      "ilike(thingId,\"ORG.ACME:*\")",
      "eq(attributes/rooms/name,\"hall\")",
      "eq(attributes/rooms/t,19)",
      "exists(features/lamp/properties/on)",
      "and(empty(attributes/e),empty(attributes/o),empty(attributes/z),"
      "not(empty(attributes/tags)))",
      "empty(attributes/rooms/none)",
      "eq(_namespace,\"org.acme\")",
      "lt(attributes/modified,time:now)",
      "gt(attributes/n,time:now_epoch_millis)",
      "eq(attributes/z,null)",
      "ge(attributes/b,true)",
      "and(eq(topic:subject,\"ask\"),like(resource:path,\"/inbox/*\"),not(exists(topic:action)))",
      "ne(attributes/o,1)",
  };
  std::vector<Filter> filters;
  for (const char* text : kFilters) {
    CompileResult compiled = ParseAndCompile(text);
    ASSERT_TRUE(compiled.ok) << text << ": " << FormatError(compiled.error);
    filters.push_back(std::move(compiled.filter));
  }

  EvalContext context;
  context.document = thing;
  context.Set(Placeholder::kTopicSubject, "ask")
      .Set(Placeholder::kResourcePath, "/inbox/messages/ask");
  EvalContext clock_context = context;
  clock_context.now = std::chrono::system_clock::now();

  size_t matched = 0;
  const size_t before = g_allocations.load();
  for (int round = 0; round < 100; ++round) {
    for (const Filter& filter : filters) {
      matched += filter.Matches(context) ? 1 : 0;
      matched += filter.Matches(clock_context) ? 1 : 0;
    }
  }
  const size_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u);
  // Every filter above is true for this document except the time:now_epoch_millis one.
  EXPECT_EQ(matched, 2u * 100u * (filters.size() - 1));
}

}  // namespace
}  // namespace sb::rql
