#include "rql/filter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

namespace sb::rql {
namespace {

constexpr const char* kThing = R"({
  "thingId": "org.acme:lamp-1",
  "policyId": "org.acme:policy",
  "attributes": {
    "int": 42, "dbl": 22.26, "seven": 7.0, "big": 9223372036854775806, "huge": 18446744073709551615,
    "yes": true, "no": false, "str": "ccc_string", "numstr": "41.5", "nul": null,
    "empty_str": "", "empty_arr": [], "empty_obj": {}, "obj": {"k": 1}, "zero": 0,
    "tags": ["red", "green"], "nums": [1, 2.5, "3"], "nested": [[1, [2]], 3],
    "rooms": [{"name": "kitchen", "temp": 21}, {"name": "hall", "temp": 18, "sub": [{"x": 1}]}],
    "a/b": "slash", "t~x": "tilde", "a:b": "colon",
    "modified": "2024-05-01T10:00:00Z", "when_ms": 1714557600000
  },
  "features": {"lamp": {"properties": {"on": true, "level": 3}}}
})";

class RqlFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(parser_.parse(kThing, std::strlen(kThing)).get(thing_), simdjson::SUCCESS);
    context_.document = thing_;
    context_.now = std::chrono::system_clock::time_point(std::chrono::seconds(1714557600));
  }

  bool Eval(std::string_view text, CompileOptions options = {}) {
    const CompileResult compiled = ParseAndCompile(text, options);
    EXPECT_TRUE(compiled.ok) << text << " -> " << FormatError(compiled.error);
    return compiled.filter.Matches(context_);
  }

  Error CompileError(std::string_view text, CompileOptions options = {}) {
    const CompileResult compiled = ParseAndCompile(text, options);
    EXPECT_FALSE(compiled.ok) << text;
    return compiled.error;
  }

  simdjson::dom::parser parser_;
  simdjson::dom::element thing_;
  EvalContext context_;
};

TEST_F(RqlFilterTest, PathsAreJsonPointers) {
  EXPECT_TRUE(Eval("eq(thingId,\"org.acme:lamp-1\")"));
  EXPECT_TRUE(Eval("eq(/attributes/int,42)"));
  EXPECT_TRUE(Eval("eq(features/lamp/properties/on,true)"));
  EXPECT_TRUE(Eval("eq(attributes/a~1b,\"slash\")"));
  EXPECT_TRUE(Eval("eq(attributes/t~0x,\"tilde\")"));
  EXPECT_TRUE(Eval("eq(attributes/a:b,\"colon\")"));  // ':' after a '/' is not a placeholder
  EXPECT_TRUE(Eval("exists()"));                       // "" is the whole document
  EXPECT_FALSE(Eval("exists(attributes/int/deeper)"));
  EXPECT_NE(CompileError("exists(attributes//int)").message.find("empty segment"),
            std::string::npos);
  EXPECT_NE(CompileError("exists(attributes/)").message.find("empty segment"),
            std::string::npos);
  EXPECT_NE(CompileError("exists(attributes/a~2)").message.find("'~'"), std::string::npos);
}

TEST_F(RqlFilterTest, NamespaceDerivesFromThingId) {
  EXPECT_TRUE(Eval("eq(_namespace,\"org.acme\")"));
  EXPECT_TRUE(Eval("exists(_namespace)"));
  EXPECT_TRUE(Eval("like(/_namespace,\"org.*\")"));
}

TEST_F(RqlFilterTest, NumbersCompareByValue) {
  EXPECT_TRUE(Eval("eq(attributes/seven,7)"));
  EXPECT_TRUE(Eval("eq(attributes/int,42.0)"));
  EXPECT_TRUE(Eval("ge(attributes/int,37.800000000000004)"));
  EXPECT_TRUE(Eval("gt(attributes/dbl,22)"));
  EXPECT_FALSE(Eval("gt(attributes/dbl,22.26)"));
  EXPECT_TRUE(Eval("le(attributes/dbl,22.26)"));
  EXPECT_TRUE(Eval("in(attributes/dbl,1.0,2.0,22.26)"));
  EXPECT_FALSE(Eval("in(attributes/dbl,1.0,2.0,3.0)"));
  EXPECT_FALSE(Eval("eq(attributes/big,9223372036854775807)"));
  EXPECT_TRUE(Eval("lt(attributes/big,9223372036854775807)"));
  EXPECT_TRUE(Eval("gt(attributes/huge,9223372036854775807)"));
}

TEST_F(RqlFilterTest, NumericStringsCompareAsNumbers) {
  EXPECT_TRUE(Eval("ge(attributes/int,\"41\")"));
  EXPECT_FALSE(Eval("ge(attributes/int,\"43\")"));
  EXPECT_TRUE(Eval("eq(attributes/int,'42.0')"));
  EXPECT_TRUE(Eval("ge(attributes/dbl,\"21.26\")"));
  EXPECT_TRUE(Eval("gt(attributes/numstr,41)"));    // numeric field string vs number
  EXPECT_TRUE(Eval("eq(attributes/numstr,41.5)"));
  EXPECT_FALSE(Eval("eq(attributes/int,\"forty-two\")"));  // incomparable
  EXPECT_FALSE(Eval("lt(attributes/int,\"forty-two\")"));
  EXPECT_TRUE(Eval("ne(attributes/int,\"forty-two\")"));
  EXPECT_FALSE(Eval("gt(attributes/numstr,\"5\")"));  // two strings compare as strings
}

TEST_F(RqlFilterTest, StringsCompareByCodePoint) {
  EXPECT_TRUE(Eval("gt(attributes/str,\"b\")"));
  EXPECT_TRUE(Eval("ge(attributes/str,\"ccc_string\")"));
  EXPECT_FALSE(Eval("gt(attributes/str,\"ccc_string\")"));
  EXPECT_TRUE(Eval("lt(attributes/str,\"d\")"));
  EXPECT_TRUE(Eval("lt(attributes/str,\"\xC3\xA4\")"));
}

TEST_F(RqlFilterTest, BooleansAndNull) {
  EXPECT_TRUE(Eval("ge(attributes/yes,true)"));
  EXPECT_TRUE(Eval("le(attributes/yes,true)"));
  EXPECT_FALSE(Eval("gt(attributes/yes,true)"));
  EXPECT_FALSE(Eval("lt(attributes/yes,true)"));
  EXPECT_TRUE(Eval("gt(attributes/yes,false)"));
  EXPECT_TRUE(Eval("lt(attributes/no,true)"));
  EXPECT_FALSE(Eval("eq(attributes/yes,\"true\")"));  // different types: incomparable
  EXPECT_TRUE(Eval("eq(attributes/nul,null)"));
  EXPECT_FALSE(Eval("eq(attributes/str,null)"));
  EXPECT_FALSE(Eval("eq(attributes/missing,null)"));
  EXPECT_TRUE(Eval("ne(attributes/str,null)"));
  EXPECT_FALSE(Eval("ne(attributes/nul,null)"));
  EXPECT_FALSE(Eval("eq(attributes/nul,\"x\")"));
  EXPECT_TRUE(Eval("ne(attributes/nul,\"x\")"));
  for (const char* op : {"gt", "ge", "lt", "le"}) {
    EXPECT_FALSE(Eval(std::string(op) + "(attributes/nul,null)")) << op;
    EXPECT_FALSE(Eval(std::string(op) + "(attributes/int,null)")) << op;
    EXPECT_FALSE(Eval(std::string(op) + "(attributes/yes,null)")) << op;
  }
  EXPECT_TRUE(Eval("in(attributes/nul,1,null)"));
}

TEST_F(RqlFilterTest, MissingFields) {
  EXPECT_TRUE(Eval("ne(attributes/missing,1)"));
  EXPECT_FALSE(Eval("eq(attributes/missing,1)"));
  EXPECT_FALSE(Eval("lt(attributes/missing,1)"));
  EXPECT_FALSE(Eval("like(attributes/missing,\"*\")"));
  EXPECT_FALSE(Eval("in(attributes/missing,1)"));
  EXPECT_TRUE(Eval("not(exists(attributes/missing))"));
}

TEST_F(RqlFilterTest, ObjectsNeverCompareEqual) {
  EXPECT_FALSE(Eval("eq(attributes/obj,\"x\")"));
  EXPECT_FALSE(Eval("eq(attributes/obj,null)"));
  EXPECT_FALSE(Eval("gt(attributes/obj,0)"));
  EXPECT_TRUE(Eval("ne(attributes/obj,1)"));
  EXPECT_FALSE(Eval("like(attributes/obj,\"*\")"));
}

TEST_F(RqlFilterTest, ArraysMatchWhenAnyElementMatches) {
  EXPECT_TRUE(Eval("eq(attributes/tags,\"green\")"));
  EXPECT_FALSE(Eval("eq(attributes/tags,\"blue\")"));
  EXPECT_FALSE(Eval("ne(attributes/tags,\"green\")"));  // ne is not(eq)
  EXPECT_TRUE(Eval("ne(attributes/tags,\"blue\")"));
  EXPECT_TRUE(Eval("like(attributes/tags,\"gr*\")"));
  EXPECT_TRUE(Eval("in(attributes/tags,\"x\",\"red\")"));
  EXPECT_TRUE(Eval("gt(attributes/nums,2)"));
  EXPECT_TRUE(Eval("eq(attributes/nums,3)"));  // "3" read as a number
  EXPECT_TRUE(Eval("eq(attributes/nested,2)"));  // nested arrays flatten
  EXPECT_TRUE(Eval("eq(attributes/rooms/name,\"hall\")"));
  EXPECT_TRUE(Eval("lt(attributes/rooms/temp,20)"));
  EXPECT_FALSE(Eval("lt(attributes/rooms/temp,10)"));
  EXPECT_TRUE(Eval("eq(attributes/rooms/sub/x,1)"));
  EXPECT_TRUE(Eval("exists(attributes/rooms/sub/x)"));
  EXPECT_FALSE(Eval("exists(attributes/rooms/nope)"));
}

TEST_F(RqlFilterTest, ExistsAndEmpty) {
  EXPECT_TRUE(Eval("exists(attributes/nul)"));
  EXPECT_TRUE(Eval("exists(attributes/empty_arr)"));
  EXPECT_FALSE(Eval("exists(attributes/missing)"));
  for (const char* field : {"missing", "nul", "empty_str", "empty_arr", "empty_obj"}) {
    EXPECT_TRUE(Eval("empty(attributes/" + std::string(field) + ")")) << field;
  }
  for (const char* field : {"zero", "no", "str", "obj", "tags"}) {
    EXPECT_FALSE(Eval("empty(attributes/" + std::string(field) + ")")) << field;
  }
  EXPECT_TRUE(Eval("empty(attributes/rooms/nope)"));    // no element has it
  EXPECT_FALSE(Eval("empty(attributes/rooms/name)"));   // some elements do
}

TEST_F(RqlFilterTest, LikeAndILike) {
  EXPECT_TRUE(Eval("like(thingId,\"org.acme:*\")"));
  EXPECT_TRUE(Eval("like(thingId,\"o?g.acme:lamp-1\")"));
  EXPECT_FALSE(Eval("like(thingId,\"ORG*\")"));
  EXPECT_TRUE(Eval("ilike(thingId,\"ORG*\")"));
  EXPECT_FALSE(Eval("like(attributes/int,\"4*\")"));  // strings only
  EXPECT_NE(CompileError("like(a,1)").message.find("string pattern"), std::string::npos);
  EXPECT_EQ(CompileError("and(exists(a),ilike(a,null))").position, 22u);
}

TEST_F(RqlFilterTest, LogicalOperators) {
  EXPECT_TRUE(Eval("and(eq(attributes/int,42),exists(attributes/str))"));
  EXPECT_FALSE(Eval("and(eq(attributes/int,42),exists(attributes/missing))"));
  EXPECT_TRUE(Eval("or(exists(attributes/missing),eq(attributes/int,42))"));
  EXPECT_FALSE(Eval("or(exists(attributes/missing),eq(attributes/int,41))"));
  EXPECT_TRUE(Eval("not(eq(attributes/int,41))"));
  EXPECT_TRUE(Eval("and(eq(attributes/int,42))"));
}

TEST_F(RqlFilterTest, TimePlaceholders) {
  // now = 2024-05-01T10:00:00Z
  EXPECT_TRUE(Eval("eq(attributes/modified,time:now)"));
  EXPECT_TRUE(Eval("ge(attributes/modified,time:now)"));
  EXPECT_FALSE(Eval("lt(attributes/modified,time:now)"));
  context_.now = *context_.now + std::chrono::milliseconds(1);
  EXPECT_TRUE(Eval("lt(attributes/modified,time:now)"));
  EXPECT_FALSE(Eval("lt(attributes/str,time:now)"));  // not an instant: incomparable
  EXPECT_FALSE(Eval("lt(attributes/int,time:now)"));
  EXPECT_TRUE(Eval("lt(attributes/when_ms,time:now_epoch_millis)"));
  EXPECT_FALSE(Eval("eq(attributes/when_ms,time:now_epoch_millis)"));
  EXPECT_TRUE(Eval("in(attributes/modified,1,time:now,\"2024-05-01T10:00:00Z\")"));
  EXPECT_NE(CompileError("lt(a,time:later)").message.find("time:later"), std::string::npos);
  // Without an explicit time, the clock is used.
  context_.now.reset();
  EXPECT_TRUE(Eval("lt(attributes/modified,time:now)"));
}

TEST_F(RqlFilterTest, ContextPlaceholders) {
  context_.Set(Placeholder::kTopicSubject, "ask")
      .Set(Placeholder::kTopicChannel, "live")
      .Set(Placeholder::kResourcePath, "/features/lamp/inbox/messages/ask")
      .Set(Placeholder::kEntityId, "org.acme:lamp-1")
      .Set(Placeholder::kTopicGroup, "");
  EXPECT_TRUE(Eval("eq(topic:subject,\"ask\")"));
  EXPECT_TRUE(Eval("ilike(topic:subject,\"A?K\")"));
  EXPECT_TRUE(Eval("like(resource:path,\"/features/*/inbox/messages/*\")"));
  EXPECT_TRUE(Eval("eq(entity:id,\"org.acme:lamp-1\")"));
  EXPECT_FALSE(Eval("exists(topic:action)"));
  EXPECT_TRUE(Eval("empty(topic:action)"));
  EXPECT_TRUE(Eval("ne(topic:action,\"modified\")"));
  EXPECT_TRUE(Eval("exists(topic:group)"));
  EXPECT_TRUE(Eval("empty(topic:group)"));
  EXPECT_TRUE(Eval("and(eq(topic:channel,\"live\"),eq(attributes/int,42))"));

  const Error unknown_prefix = CompileError("and(exists(a),eq(foo:bar,1))");
  EXPECT_EQ(unknown_prefix.position, 17u);
  EXPECT_NE(unknown_prefix.message.find("unknown placeholder prefix 'foo:'"), std::string::npos);
  EXPECT_NE(CompileError("exists(topic:unknown)").message.find("topic:unknown"),
            std::string::npos);
  EXPECT_NE(CompileError("exists(time:now)").message.find("prefix"), std::string::npos);
}

TEST_F(RqlFilterTest, DocumentPlaceholderMode) {
  constexpr const char* kMessage =
      R"({"topic":{"subject":"ask","channel":"live"},"test":{"lower":"lorem"}})";
  simdjson::dom::parser parser;
  simdjson::dom::element message;
  ASSERT_EQ(parser.parse(kMessage, std::strlen(kMessage)).get(message), simdjson::SUCCESS);
  context_.document = message;
  context_.Set(Placeholder::kTopicSubject, "from-context");
  CompileOptions options;
  options.placeholders = PlaceholderSource::kDocument;
  EXPECT_TRUE(Eval("eq(topic:subject,\"ask\")", options));
  EXPECT_TRUE(Eval("eq(test:lower,\"lorem\")", options));
  EXPECT_FALSE(Eval("exists(test:unknown)", options));
  EXPECT_FALSE(Eval("exists(topic:action)", options));
}

TEST_F(RqlFilterTest, NoDocumentMeansMissingFields) {
  context_.document.reset();
  EXPECT_FALSE(Eval("exists(thingId)"));
  EXPECT_TRUE(Eval("ne(thingId,\"x\")"));
  EXPECT_TRUE(Eval("empty(attributes)"));
}

TEST(RqlFilter, DefaultFilterMatchesNothing) {
  const Filter filter;
  EXPECT_TRUE(filter.empty());
  EXPECT_FALSE(filter.Matches(EvalContext{}));
}

TEST(RqlFilter, CompileRejectsMalformedHandBuiltTrees) {
  Node not_node;
  not_node.kind = NodeKind::kNot;
  EXPECT_FALSE(Compile(not_node).ok);
  Node comparison;
  comparison.kind = NodeKind::kComparison;
  comparison.property = "a";
  EXPECT_FALSE(Compile(comparison).ok);
  Node deep;
  deep.kind = NodeKind::kExists;
  deep.property = "a";
  for (uint32_t i = 0; i < kMaxFilterDepth; ++i) {
    Node parent;
    parent.kind = NodeKind::kNot;
    parent.children.push_back(std::move(deep));
    deep = std::move(parent);
  }
  const CompileResult result = Compile(deep);
  ASSERT_FALSE(result.ok);
  EXPECT_NE(result.error.message.find("nested deeper"), std::string::npos);
}

TEST(RqlFilter, OneFilterIsSharedAcrossThreads) {
  const CompileResult compiled =
      ParseAndCompile("and(like(topic:subject,\"a*\"),gt(attributes/n,1))");
  ASSERT_TRUE(compiled.ok);
  const Filter& filter = compiled.filter;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(std::string_view(R"({"attributes":{"n":2}})")).get(doc),
            simdjson::SUCCESS);
  std::atomic<int> matches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EvalContext context;
      context.document = doc;
      context.Set(Placeholder::kTopicSubject, t % 2 == 0 ? "ask" : "tell");
      for (int i = 0; i < 1000; ++i) matches += filter.Matches(context) ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(matches.load(), 2000);
}

TEST(RqlPlaceholders, NamesRoundTrip) {
  for (size_t i = 0; i < kPlaceholderCount; ++i) {
    const auto placeholder = static_cast<Placeholder>(i);
    const std::string_view text = PlaceholderText(placeholder);
    const size_t colon = text.find(':');
    ASSERT_NE(colon, std::string_view::npos) << i;
    EXPECT_EQ(FindPlaceholder(text.substr(0, colon), text.substr(colon + 1)), placeholder);
  }
  EXPECT_FALSE(FindPlaceholder("topic", "nope"));
  EXPECT_FALSE(IsPlaceholderPrefix("time"));
}

}  // namespace
}  // namespace sb::rql
