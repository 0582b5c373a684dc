// RQL parser: filter text -> syntax tree (rql/ast.h), following Eclipse Ditto's grammar
// (RqlPredicateParser) exactly:
//   Query     = Op '(' ... ')' with no whitespace before '(' or after any ')'
//   eq|ne|gt|ge|lt|le|like|ilike '(' Property ',' Literal ')'
//   in '(' Property ',' Literal { ',' Literal } ')'
//   and|or '(' Query { ',' WS Query } ')'      not '(' Query ')'
//   exists|empty '(' Property ')'
//   Property  = { any char but , ) " \ | '\' Escape }   (unquoted; may contain spaces)
//   Literal   = (Double | Integer | "str" | 'str' | time:Name | true | false | null) WS
//   Integer   = ['+'|'-'] ('0' | [1-9][0-9]*), not "-0";  Double = Integer '.' [0-9]+
//   Escape    = JSON escapes: \" (or \' in single quotes) \\ \/ \b \f \n \r \t \uXXXX
//   WS        = { ' ' | \t | \n | \r | \f }, allowed only before the query, after a literal
//               and after the ',' between sub-queries.
// Differences from Ditto, all rejections of input Ditto would misread: integers outside int64
// (Ditto fails too), doubles that overflow to infinity, unpaired UTF-16 surrogates in \u
// escapes, input longer than ParseLimits::max_length, nesting deeper than max_depth.
//
// Parse() is a pure function; thread-safe. It allocates (the tree): compile filters once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rql/ast.h"

namespace sb::rql {

// An error in a filter, from Parse() or Compile().
struct Error {
  // 0-based position of the offending character, counted in characters (UTF-8 code points,
  // so it matches what a user sees), not bytes.
  size_t position = 0;
  std::string message;  // e.g. "expected ')'"
};

// "error at position 7 (0-based): expected ')'"
std::string FormatError(const Error& error);

// Deepest nesting of and/or/not any filter may have (the parser's default and Compile()'s
// hard limit): it bounds recursion in parsing, compiling and evaluation.
inline constexpr uint32_t kMaxFilterDepth = 64;

struct ParseLimits {
  size_t max_length = 64 * 1024;        // bytes of filter text
  uint32_t max_depth = kMaxFilterDepth;  // a lone comparison is depth 1
};

struct ParseResult {
  bool ok = false;
  Node root;    // when ok
  Error error;  // when !ok
};

ParseResult Parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace sb::rql
