// Filter::Matches() must not allocate (SPEC 3.7): the test binary's global operator new
// counts (tests/support/allocation_counter.h), and evaluating filters that exercise every
// code path must add nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <simdjson.h>

#include "rql/filter.h"
#include "tests/support/allocation_counter.h"

namespace sb::rql {
namespace {

TEST(RqlMatchesAllocation, CountingWorks) {
  const testing::AllocationScope scope;
  // Through a volatile pointer, so that the compiler may not elide the allocations.
  std::vector<int>* volatile probe = new std::vector<int>(100);
  delete probe;
  EXPECT_GE(scope.allocations(), 2u);
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
  const testing::AllocationScope scope;
  for (int round = 0; round < 100; ++round) {
    for (const Filter& filter : filters) {
      matched += filter.Matches(context) ? 1 : 0;
      matched += filter.Matches(clock_context) ? 1 : 0;
    }
  }
  EXPECT_EQ(scope.allocations(), 0u);
  // Every filter above is true for this document except the time:now_epoch_millis one.
  EXPECT_EQ(matched, 2u * 100u * (filters.size() - 1));
}

}  // namespace
}  // namespace sb::rql
