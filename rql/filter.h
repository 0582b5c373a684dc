// A compiled RQL filter: built once per subscription from the syntax tree (rql/ast.h), then
// evaluated per message against an EvalContext (rql/eval_context.h).
//
// Compilation resolves everything that does not depend on the message: properties are split
// into JSON-pointer segments (~1 -> '/', ~0 -> '~') or resolved to a Placeholder enum,
// `time:` values to an enum, numeric strings pre-parsed, like/ilike patterns pre-processed.
// Unknown placeholders (`foo:bar`, `topic:nope`, `time:later`) and like/ilike with a
// non-string pattern are compile errors.
//
// A Filter is immutable after Compile(): Matches() is const, never allocates, never throws,
// and may run concurrently on any number of threads/shards; copy it or share one instance
// (e.g. behind a pointer in a published snapshot). Evaluation work is bounded by the filter
// size times the document size (arrays flatten at most kMaxArrayNesting levels deep).
//
// Semantics (Ditto's ThingPredicateVisitor, as pinned by shared/conformance/README.md):
//   - A property without ':' in its first segment is a JSON pointer into the document
//     (leading '/' optional; "" is the whole document). `_namespace`, when the document has
//     none, is the part of `thingId` before ':'.
//   - `prefix:name` is a placeholder: with PlaceholderSource::kContext, topic:/resource:/
//     entity: from EvalContext::placeholders; with kDocument, any X:Y reads document[X][Y].
//   - Arrays on the path are flattened (any element's value counts), and a field that is an
//     array matches when any element matches. Objects never compare equal to anything.
//   - eq/gt/ge/lt/le: numbers by value across int/double; strings by code point; booleans
//     false < true; a string compared with a number is read as a number when it parses as
//     one (BigDecimal syntax), otherwise the two are incomparable; other type mixes are
//     incomparable (all comparisons false). Ditto falls back to comparing toString() forms
//     there; we do not.
//   - eq(x,null) matches only JSON null; gt/ge/lt/le with null are always false.
//   - ne(x,v) is not(eq(x,v)): true on a missing field, false when any array element equals v.
//   - in(x,v1,...,vn) is or(eq(x,v1),...,eq(x,vn)).
//   - like/ilike match string values only (rql/like.h).
//   - exists: the path reaches at least one value (null included).
//   - empty: true when absent, null, "", [] or {}; through arrays, true when no element has
//     the field (Ditto's getValueFlatteningArrays collects the values found).
//   - time:now compares with strings that parse as ISO-8601 instants, as instants;
//     time:now_epoch_millis is a number (milliseconds since the epoch).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rql/ast.h"
#include "rql/eval_context.h"
#include "rql/internal/number.h"
#include "rql/like.h"
#include "rql/parser.h"

namespace sb::rql {

// Flattening arrays inside arrays stops this many levels deep (deeper values are ignored).
inline constexpr int kMaxArrayNesting = 32;

enum class PlaceholderSource : uint8_t {
  // The router: topic:/resource:/entity: come from EvalContext::placeholders; any other
  // prefix, or an unknown name, is a compile error.
  kContext,
  // The conformance harness and `sbctl rql eval`: any X:Y reads document[X][Y].
  kDocument,
};

struct CompileOptions {
  PlaceholderSource placeholders = PlaceholderSource::kContext;
};

namespace internal {

enum class TimeValue : uint8_t { kNone, kNow, kNowEpochMillis };

struct Operand {
  LiteralType type = LiteralType::kNull;
  Number number;                        // kInteger, kDouble; kString when text_is_number
  bool boolean = false;                 // kBoolean
  bool text_is_number = false;          // kString that parses as a number
  TimeValue time = TimeValue::kNone;    // kPlaceholder
  std::string text;                     // kString
};

struct Field {
  bool from_context = false;    // a Placeholder read from EvalContext::placeholders
  Placeholder placeholder = Placeholder::kTopicNamespace;
  bool derive_namespace = false;  // `_namespace`: fall back to thingId's prefix
  uint32_t first_segment = 0;     // into FilterProgram::segments (document fields)
  uint32_t segment_count = 0;
};

struct Step {
  NodeKind kind = NodeKind::kAnd;
  ComparisonOp op = ComparisonOp::kEq;
  uint32_t field = 0;  // comparison, in, exists, empty
  uint32_t first = 0;  // operands (comparison, in) or FilterProgram::children (and, or, not)
  uint32_t count = 0;
  uint32_t like = 0;   // like/ilike: into FilterProgram::likes
};

struct FilterProgram {
  std::vector<Step> steps;
  uint32_t root = 0;
  std::vector<uint32_t> children;
  std::vector<Field> fields;
  std::vector<std::string> segments;
  std::vector<Operand> operands;
  std::vector<LikePattern> likes;
};

}  // namespace internal

class Filter {
 public:
  Filter() = default;  // compiled from nothing: matches nothing

  // True when the message described by `context` passes the filter. Never allocates.
  bool Matches(const EvalContext& context) const noexcept;

  bool empty() const { return program_.steps.empty(); }

 private:
  friend class FilterCompiler;
  internal::FilterProgram program_;
};

inline bool Matches(const Filter& filter, const EvalContext& context) noexcept {
  return filter.Matches(context);
}

struct CompileResult {
  bool ok = false;
  Filter filter;  // when ok
  Error error;    // when !ok; position points into the text the tree was parsed from
};

CompileResult Compile(const Node& root, const CompileOptions& options = {});

// Parse() then Compile(): the usual entry point for a subscription's filter text.
CompileResult ParseAndCompile(std::string_view text, const CompileOptions& options = {},
                              const ParseLimits& limits = {});

}  // namespace sb::rql
