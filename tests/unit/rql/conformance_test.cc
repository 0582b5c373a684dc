// Runs every case of shared/conformance/{rql-parse,rql-eval,like}.json against sb_rql.
// A missing or empty file is a failure, not a skip. Each case reports its id on failure.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "rql/ast.h"
#include "rql/filter.h"
#include "rql/like.h"
#include "rql/parser.h"
#include "tests/support/conformance_cases.h"

namespace sb::rql {
namespace {

using simdjson::dom::element;


std::string StringField(element object, const char* key) {
  std::string_view value;
  if (object[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

const char* ValueTypeName(LiteralType type) {
  switch (type) {
    case LiteralType::kInteger: return "integer";
    case LiteralType::kDouble: return "double";
    case LiteralType::kString: return "string";
    case LiteralType::kBoolean: return "boolean";
    case LiteralType::kNull: return "null";
    case LiteralType::kPlaceholder: return "placeholder";
  }
  return "?";
}

// Whether a parsed literal equals the JSON value the case expects. Integers and doubles are
// told apart by the expected `value_type` when present, else by the JSON number's form.
void ExpectLiteral(const Literal& literal, element expected, const std::string& id) {
  using simdjson::dom::element_type;
  switch (expected.type()) {
    case element_type::STRING: {
      std::string_view text;
      ASSERT_EQ(expected.get_string().get(text), simdjson::SUCCESS);
      EXPECT_TRUE(literal.type == LiteralType::kString || literal.type == LiteralType::kPlaceholder)
          << id << ": got a " << ValueTypeName(literal.type);
      EXPECT_EQ(literal.text, text) << id;
      break;
    }
    case element_type::INT64:
    case element_type::UINT64: {
      int64_t value = 0;
      ASSERT_EQ(expected.get_int64().get(value), simdjson::SUCCESS) << id;
      EXPECT_EQ(literal.type, LiteralType::kInteger) << id;
      EXPECT_EQ(literal.integer, value) << id;
      break;
    }
    case element_type::DOUBLE: {
      double value = 0;
      ASSERT_EQ(expected.get_double().get(value), simdjson::SUCCESS) << id;
      EXPECT_EQ(literal.type, LiteralType::kDouble) << id;
      EXPECT_EQ(literal.number, value) << id;
      break;
    }
    case element_type::BOOL: {
      bool value = false;
      ASSERT_EQ(expected.get_bool().get(value), simdjson::SUCCESS) << id;
      EXPECT_EQ(literal.type, LiteralType::kBoolean) << id;
      EXPECT_EQ(literal.boolean, value) << id;
      break;
    }
    case element_type::NULL_VALUE:
      EXPECT_EQ(literal.type, LiteralType::kNull) << id;
      break;
    default:
      ADD_FAILURE() << id << ": unexpected value in the case file";
  }
}

void ExpectTree(const Node& root, element expect, const std::string& id) {
  const std::string node = StringField(expect, "node");
  if (node == "single") {
    ASSERT_EQ(root.kind, NodeKind::kComparison) << id;
    EXPECT_EQ(OperatorName(root), StringField(expect, "op")) << id;
    EXPECT_EQ(root.property, StringField(expect, "property")) << id;
    ASSERT_EQ(root.values.size(), 1u) << id;
    EXPECT_EQ(ValueTypeName(root.values[0].type), StringField(expect, "value_type")) << id;
    ExpectLiteral(root.values[0], expect["value"].value_unsafe(), id);
  } else if (node == "multi") {
    ASSERT_EQ(root.kind, NodeKind::kIn) << id;
    EXPECT_EQ(OperatorName(root), StringField(expect, "op")) << id;
    EXPECT_EQ(root.property, StringField(expect, "property")) << id;
    simdjson::dom::array values;
    ASSERT_EQ(expect["values"].get_array().get(values), simdjson::SUCCESS) << id;
    ASSERT_EQ(root.values.size(), values.size()) << id;
    size_t i = 0;
    for (const element value : values) ExpectLiteral(root.values[i++], value, id);
  } else if (node == "logical") {
    const std::string op = StringField(expect, "op");
    EXPECT_EQ(OperatorName(root), op) << id;
    int64_t children = 0;
    ASSERT_EQ(expect["children"].get_int64().get(children), simdjson::SUCCESS) << id;
    EXPECT_EQ(root.children.size(), static_cast<size_t>(children)) << id;
  } else if (node == "exists" || node == "empty") {
    EXPECT_EQ(OperatorName(root), node) << id;
    EXPECT_EQ(root.property, StringField(expect, "property")) << id;
  } else {
    ADD_FAILURE() << id << ": unknown expect node '" << node << "'";
  }
}

TEST(RqlConformance, ParseCases) {
  simdjson::dom::parser parser;
  simdjson::dom::array cases;
  ASSERT_TRUE(testing::LoadConformanceCases(parser, "rql-parse.json", &cases));
  size_t run = 0;
  size_t trees = 0;
  for (const element c : cases) {
    const std::string id = StringField(c, "id");
    const std::string input = StringField(c, "input");
    bool valid = false;
    ASSERT_EQ(c["valid"].get_bool().get(valid), simdjson::SUCCESS) << id;
    const ParseResult parsed = Parse(input);
    ++run;
    EXPECT_EQ(parsed.ok, valid) << id << ": " << input
                                << (parsed.ok ? "" : " -> " + FormatError(parsed.error));
    if (!parsed.ok || !valid) continue;
    // Normalization must read back to the same text.
    const std::string normalized = Normalize(parsed.root);
    const ParseResult reparsed = Parse(normalized);
    ASSERT_TRUE(reparsed.ok) << id << ": normalized form " << normalized << " does not parse";
    EXPECT_EQ(Normalize(reparsed.root), normalized) << id;
    element expect;
    if (c["expect"].get(expect) == simdjson::SUCCESS) {
      ExpectTree(parsed.root, expect, id);
      ++trees;
    }
  }
  std::printf("rql-parse.json: %zu cases, %zu parse trees checked\n", run, trees);
}

TEST(RqlConformance, EvalCases) {
  simdjson::dom::parser parser;
  simdjson::dom::array cases;
  ASSERT_TRUE(testing::LoadConformanceCases(parser, "rql-eval.json", &cases));
  CompileOptions options;
  options.placeholders = PlaceholderSource::kDocument;
  size_t run = 0;
  for (const element c : cases) {
    const std::string id = StringField(c, "id");
    const std::string filter = StringField(c, "filter");
    bool expected = false;
    ASSERT_EQ(c["expected"].get_bool().get(expected), simdjson::SUCCESS) << id;
    element document;
    ASSERT_EQ(c["document"].get(document), simdjson::SUCCESS) << id;
    const CompileResult compiled = ParseAndCompile(filter, options);
    ASSERT_TRUE(compiled.ok) << id << ": " << filter << " -> " << FormatError(compiled.error);
    EvalContext context;
    context.document = document;
    EXPECT_EQ(compiled.filter.Matches(context), expected) << id << ": " << filter;
    ++run;
  }
  std::printf("rql-eval.json: %zu cases\n", run);
}

TEST(RqlConformance, LikeCases) {
  simdjson::dom::parser parser;
  simdjson::dom::array cases;
  ASSERT_TRUE(testing::LoadConformanceCases(parser, "like.json", &cases));
  size_t run = 0;
  for (const element c : cases) {
    const std::string id = StringField(c, "id");
    bool ci = false;
    bool expected = false;
    ASSERT_EQ(c["ci"].get_bool().get(ci), simdjson::SUCCESS) << id;
    ASSERT_EQ(c["expected"].get_bool().get(expected), simdjson::SUCCESS) << id;
    const std::string value = StringField(c, "value");
    const std::string pattern = StringField(c, "pattern");
    EXPECT_EQ(LikePattern(pattern, ci).Matches(value), expected)
        << id << ": '" << value << "' " << (ci ? "ilike" : "like") << " '" << pattern << "'";
    ++run;
  }
  std::printf("like.json: %zu cases\n", run);
}

}  // namespace
}  // namespace sb::rql
