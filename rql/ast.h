// RQL syntax tree (Eclipse Ditto's RQL, SPEC 3.7): what Parse() (rql/parser.h) produces,
// what Normalize() prints and what Compile() (rql/filter.h) turns into a Filter.
//
// Plain values that own their strings; copy and move freely, no thread affinity. Trees made
// by Parse() satisfy: a comparison has exactly one value, `in` one or more, `not` exactly one
// child, `and`/`or` one or more children. Compile() re-checks this for hand-built trees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::rql {

enum class NodeKind : uint8_t {
  kComparison,  // eq ne gt ge lt le like ilike (op says which)
  kIn,          // in(property, value, ...)
  kAnd,
  kOr,
  kNot,
  kExists,  // exists(property)
  kEmpty,   // empty(property)
};

enum class ComparisonOp : uint8_t { kEq, kNe, kGt, kGe, kLt, kLe, kLike, kILike };

enum class LiteralType : uint8_t {
  kInteger,     // 123, +5, -7: fits int64
  kDouble,      // 1.5, -0.7: always written with a '.', never with an exponent
  kString,      // "..." or '...'
  kBoolean,     // true, false
  kNull,        // null
  kPlaceholder  // time:NAME, e.g. time:now (the grammar allows only the time: prefix)
};

struct Literal {
  LiteralType type = LiteralType::kNull;
  int64_t integer = 0;   // kInteger
  double number = 0;     // kDouble (finite)
  bool boolean = false;  // kBoolean
  // kString: the unescaped text. kPlaceholder: the whole unescaped placeholder, "time:now".
  std::string text;
  size_t position = 0;  // 0-based character position in the source text
};

struct Node {
  NodeKind kind = NodeKind::kAnd;
  ComparisonOp op = ComparisonOp::kEq;  // kComparison only
  // kComparison, kIn, kExists, kEmpty: the unescaped property, e.g. "attributes/a" or
  // "topic:subject". May be empty (the grammar allows it: it names the whole document).
  std::string property;
  size_t position = 0;           // 0-based character position of the operator name
  size_t property_position = 0;  // 0-based character position of the property
  std::vector<Literal> values;   // kComparison: one; kIn: one or more
  std::vector<Node> children;    // kAnd/kOr: one or more; kNot: one
};

// "eq", "ilike", "in", "and", "exists", ...
std::string_view OperatorName(const Node& node);

// The canonical text of a tree: no whitespace, strings double-quoted, integers without '+',
// doubles as the shortest text that reads back to the same value (always with a '.', e.g.
// "37.800000000000004", "7.0"), and only the escapes the grammar needs (plus \b \f \n \r \t
// and \u00XX for control characters). Parse(Normalize(t)) gives back t (up to positions),
// so Normalize(Parse(Normalize(t))) == Normalize(t). Allocates; not for the hot path.
std::string Normalize(const Node& root);

}  // namespace sb::rql
