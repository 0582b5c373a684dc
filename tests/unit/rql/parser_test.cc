#include "rql/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "rql/ast.h"

namespace sb::rql {
namespace {

Node ParseOk(std::string_view text) {
  ParseResult result = Parse(text);
  EXPECT_TRUE(result.ok) << text << " -> " << FormatError(result.error);
  return result.root;
}

Error ParseFails(std::string_view text) {
  ParseResult result = Parse(text);
  EXPECT_FALSE(result.ok) << text << " parsed as " << Normalize(result.root);
  return result.error;
}

TEST(RqlParser, ComparisonWithEachOperator) {
  for (const char* op : {"eq", "ne", "gt", "ge", "lt", "le", "like", "ilike"}) {
    const Node node = ParseOk(std::string(op) + "(attributes/a,\"x\")");
    EXPECT_EQ(node.kind, NodeKind::kComparison);
    EXPECT_EQ(OperatorName(node), op);
    EXPECT_EQ(node.property, "attributes/a");
    ASSERT_EQ(node.values.size(), 1u);
    EXPECT_EQ(node.values[0].type, LiteralType::kString);
    EXPECT_EQ(node.values[0].text, "x");
  }
}

TEST(RqlParser, LogicalExistsEmptyAndIn) {
  const Node node = ParseOk(
      "and(or(exists(a),empty(b)),not(in(c,1,\"two\",3.5,true,null,time:now)))");
  ASSERT_EQ(node.kind, NodeKind::kAnd);
  ASSERT_EQ(node.children.size(), 2u);
  const Node& either = node.children[0];
  EXPECT_EQ(either.kind, NodeKind::kOr);
  ASSERT_EQ(either.children.size(), 2u);
  EXPECT_EQ(either.children[0].kind, NodeKind::kExists);
  EXPECT_EQ(either.children[0].property, "a");
  EXPECT_EQ(either.children[1].kind, NodeKind::kEmpty);
  const Node& negation = node.children[1];
  ASSERT_EQ(negation.kind, NodeKind::kNot);
  ASSERT_EQ(negation.children.size(), 1u);
  const Node& in = negation.children[0];
  ASSERT_EQ(in.kind, NodeKind::kIn);
  ASSERT_EQ(in.values.size(), 6u);
  EXPECT_EQ(in.values[0].type, LiteralType::kInteger);
  EXPECT_EQ(in.values[0].integer, 1);
  EXPECT_EQ(in.values[1].type, LiteralType::kString);
  EXPECT_EQ(in.values[2].type, LiteralType::kDouble);
  EXPECT_EQ(in.values[2].number, 3.5);
  EXPECT_EQ(in.values[3].type, LiteralType::kBoolean);
  EXPECT_TRUE(in.values[3].boolean);
  EXPECT_EQ(in.values[4].type, LiteralType::kNull);
  EXPECT_EQ(in.values[5].type, LiteralType::kPlaceholder);
  EXPECT_EQ(in.values[5].text, "time:now");
}

TEST(RqlParser, IntegersAndDoubles) {
  EXPECT_EQ(ParseOk("eq(a,123)").values[0].type, LiteralType::kInteger);
  EXPECT_EQ(ParseOk("eq(a,123.0)").values[0].type, LiteralType::kDouble);
  EXPECT_EQ(ParseOk("eq(a,+5)").values[0].integer, 5);
  EXPECT_EQ(ParseOk("eq(a,-7)").values[0].integer, -7);
  EXPECT_EQ(ParseOk("eq(a,0)").values[0].integer, 0);
  EXPECT_EQ(ParseOk("eq(a,+0)").values[0].integer, 0);
  EXPECT_EQ(ParseOk("eq(a,-0.7)").values[0].number, -0.7);
  EXPECT_EQ(ParseOk("eq(a,+0.5)").values[0].number, 0.5);
  EXPECT_EQ(ParseOk("eq(a,9223372036854775807)").values[0].integer, INT64_MAX);
  EXPECT_EQ(ParseOk("eq(a,-9223372036854775808)").values[0].integer, INT64_MIN);
  EXPECT_EQ(ParseOk("eq(a,37.800000000000004)").values[0].number, 37.800000000000004);
  // Underflow reads as zero, like Java's Double.valueOf.
  const std::string tiny = "eq(a,0." + std::string(400, '0') + "1)";
  EXPECT_EQ(ParseOk(tiny).values[0].number, 0.0);

  ParseFails("eq(a,-0)");
  ParseFails("eq(a,0123)");
  ParseFails("eq(a,012.7)");
  ParseFails("eq(a,12.7.8)");
  ParseFails("eq(a,1e5)");
  ParseFails("eq(a,1.)");
  ParseFails("eq(a,.5)");
  ParseFails("eq(a,+)");
  ParseFails("eq(a,9223372036854775808)");
  ParseFails("eq(a," + std::string(400, '9') + ".0)");
}

TEST(RqlParser, StringsAndEscapes) {
  EXPECT_EQ(ParseOk(R"(eq(a,"te\"st"))").values[0].text, "te\"st");
  EXPECT_EQ(ParseOk(R"(eq(a,'te\'st'))").values[0].text, "te'st");
  EXPECT_EQ(ParseOk(R"(eq(a,"a'b"))").values[0].text, "a'b");
  EXPECT_EQ(ParseOk(R"(eq(a,'a"b'))").values[0].text, "a\"b");
  EXPECT_EQ(ParseOk(R"(eq(a,"\\ \/ \b\f\n\r\t"))").values[0].text, "\\ / \b\f\n\r\t");
  EXPECT_EQ(ParseOk(R"(eq(a,"\u00e4\u20AC"))").values[0].text, "\xC3\xA4\xE2\x82\xAC");
  EXPECT_EQ(ParseOk(R"(eq(a,"\ud83d\ude00"))").values[0].text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(ParseOk(R"(eq(a,"\u0000"))").values[0].text, std::string(1, '\0'));
  EXPECT_EQ(ParseOk("eq(a,\"\")").values[0].text, "");
  EXPECT_EQ(ParseOk("eq(a,\"raw\nnewline\")").values[0].text, "raw\nnewline");

  ParseFails(R"(eq(a,"\'"))");        // \' only inside single quotes
  ParseFails(R"(eq(a,'\"'))");        // \" only inside double quotes
  ParseFails(R"(eq(a,"\x"))");
  ParseFails(R"(eq(a,"\u12"))");
  ParseFails(R"(eq(a,"\ud83d"))");     // unpaired high surrogate
  ParseFails(R"(eq(a,"\ude00"))");     // unpaired low surrogate
  ParseFails(R"(eq(a,"abc))");
  ParseFails(R"(eq(a,"abc"def))");
  ParseFails("eq(a,abc)");             // bare words are not values
}

TEST(RqlParser, PropertiesAreUnquotedAndMayHoldEscapes) {
  EXPECT_EQ(ParseOk("exists(/attributes/a)").property, "/attributes/a");
  EXPECT_EQ(ParseOk("exists(a b)").property, "a b");
  EXPECT_EQ(ParseOk("exists(a(b)").property, "a(b");
  EXPECT_EQ(ParseOk(R"(exists(a\u002cb))").property, "a,b");
  EXPECT_EQ(ParseOk(R"(exists(a\"b))").property, "a\"b");
  EXPECT_EQ(ParseOk("exists()").property, "");
  EXPECT_EQ(ParseOk("eq(topic:subject,\"ask\")").property, "topic:subject");
  ParseFails("exists(\"features/scanner\")");
  ParseFails("exists(features/scanner,\"test\")");
  ParseFails("empty(attributes/tags,\"test\")");
}

TEST(RqlParser, WhitespaceFollowsDittosGrammar) {
  ParseOk(" \t\n eq(a,1)");                 // before the query
  ParseOk("eq(a,1 )");                      // after a literal
  ParseOk("eq(a,\"x\" \n)");
  ParseOk("in(a,1 ,2 )");
  ParseOk("and(eq(a,1), \n eq(b,2))");      // after the ',' between queries
  EXPECT_EQ(ParseOk("eq( a,1)").property, " a");  // part of the property
  ParseFails("eq(a,1) ");                   // nothing after the final ')'
  ParseFails("eq(a, 1)");                   // not between ',' and a value
  ParseFails("and(eq(a,1) ,eq(b,2))");      // not after ')'
  ParseFails("and( eq(a,1))");              // not before a sub-query
  ParseFails("eq (a,1)");                   // not before '('
  ParseFails("in(a, 1)");
}

TEST(RqlParser, RejectsMalformedQueries) {
  ParseFails("");
  ParseFails("   ");
  ParseFails("eq/(a,1)");
  ParseFails("eaq(a,1)");
  ParseFails("EQ(a,1)");
  ParseFails("or(ASDF(a,1))");
  ParseFails("eq(a,1))");
  ParseFails("eq(a,1");
  ParseFails("eq(a)");
  ParseFails("in(a)");
  ParseFails("in(a,)");
  ParseFails("and()");
  ParseFails("and(eq(a,1),)");
  ParseFails("not(eq(a,1),eq(b,2))");
  ParseFails("exists(a");
  ParseFails("truex");
  ParseFails("eq(a,truex)");
}

TEST(RqlParser, ErrorPositionsAreZeroBasedCharacters) {
  EXPECT_EQ(ParseFails("eq(username, 123)").position, 12u);
  EXPECT_EQ(ParseFails("eq(a,1) ").position, 7u);
  EXPECT_EQ(ParseFails("eaq(a,1)").position, 0u);
  EXPECT_EQ(ParseFails("eq(a,1").position, 6u);
  // Characters, not bytes: "ä" is two bytes.
  EXPECT_EQ(ParseFails("eq(\xC3\xA4, 1)").position, 5u);
  const Error error = ParseFails("and(eq(a,1) ,eq(b,2))");
  EXPECT_EQ(error.position, 11u);
  EXPECT_EQ(FormatError(error), "error at position 11 (0-based): expected ',' or ')'");
  EXPECT_EQ(FormatError(ParseFails("eq(a,1")), "error at position 6 (0-based): expected ')'");
}

TEST(RqlParser, RecordsPositionsForLaterErrors) {
  const Node node = ParseOk("and(eq(x,1), like(\xC3\xA4" "b,'p'))");
  ASSERT_EQ(node.children.size(), 2u);
  EXPECT_EQ(node.children[0].position, 4u);
  EXPECT_EQ(node.children[0].property_position, 7u);
  EXPECT_EQ(node.children[1].position, 13u);
  EXPECT_EQ(node.children[1].property_position, 18u);
  EXPECT_EQ(node.children[1].values[0].position, 21u);
}

TEST(RqlParser, EnforcesLimits) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "not(";
  deep += "exists(a)";
  deep += std::string(100, ')');
  EXPECT_NE(ParseFails(deep).message.find("nested deeper"), std::string::npos);

  std::string ok_depth;
  for (uint32_t i = 1; i < kMaxFilterDepth; ++i) ok_depth += "not(";
  ok_depth += "exists(a)" + std::string(kMaxFilterDepth - 1, ')');
  ParseOk(ok_depth);

  ParseLimits limits;
  limits.max_length = 10;
  const ParseResult result = Parse("eq(attributes/a,1)", limits);
  ASSERT_FALSE(result.ok);
  EXPECT_NE(result.error.message.find("longer than 10 bytes"), std::string::npos);
}

TEST(RqlNormalize, CanonicalText) {
  EXPECT_EQ(Normalize(ParseOk(" and(eq(a,+5 ), \n like(b,'x\"y*'))")),
            R"(and(eq(a,5),like(b,"x\"y*")))");
  EXPECT_EQ(Normalize(ParseOk("eq(a,123.0)")), "eq(a,123.0)");
  EXPECT_EQ(Normalize(ParseOk("eq(a,-0.0)")), "eq(a,-0.0)");
  EXPECT_EQ(Normalize(ParseOk("eq(a,0.10)")), "eq(a,0.1)");
  EXPECT_EQ(Normalize(ParseOk("ge(a,37.800000000000004)")), "ge(a,37.800000000000004)");
  EXPECT_EQ(Normalize(ParseOk("in(a,null,true,false,'s')")), R"(in(a,null,true,false,"s"))");
  EXPECT_EQ(Normalize(ParseOk("lt(_modified,time:now)")), "lt(_modified,time:now)");
  EXPECT_EQ(Normalize(ParseOk(R"(exists(a\u002cb\u0029c\\d\"e))")),
            R"(exists(a\u002cb\u0029c\\d\"e))");
  EXPECT_EQ(Normalize(ParseOk("eq(a,\"tab\there\x01\")")), R"(eq(a,"tab\there\u0001"))");
  EXPECT_EQ(Normalize(ParseOk("not(empty(/x/y))")), "not(empty(/x/y))");
}

TEST(RqlNormalize, IsStableUnderReparsing) {
  for (const char* text : {
           "and(eq(a,1),or(ne(b,\"x\"),not(exists(c))),in(d,1.5,'q',null),empty(e))",
           "ilike(attributes/key1,\"*known-CHARS-at-end\")",
           "eq(a,\"\\u00e4\\n\\\\ \\\"\")",
           "eq(a,0." "000000000000000000000000000000000000000000000000000000000001)",
           "eq(a,1000000000000000000000000000000000000000000000000.5)",
           "eq(a,time:n\\u006fw x)",
           "exists(a\\u0029\\u002c\\t)",
       }) {
    const std::string once = Normalize(ParseOk(text));
    const ParseResult again = Parse(once);
    ASSERT_TRUE(again.ok) << text << " -> " << once << " -> " << FormatError(again.error);
    EXPECT_EQ(Normalize(again.root), once) << text;
  }
}

}  // namespace
}  // namespace sb::rql
