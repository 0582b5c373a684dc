// libFuzzer target for rql/: arbitrary bytes as filter text.
//   - Parse() must return a value (no crash, no hang) and a sane error position;
//   - a parsed tree normalizes to text that parses back to the same tree, whose
//     normalization is identical (Normalize is a fixed point after one step);
//   - compiling in both placeholder modes and evaluating against a fixed Thing and message
//     context must not crash.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "rql/ast.h"
#include "rql/filter.h"
#include "rql/parser.h"

namespace {

using sb::rql::Literal;
using sb::rql::Node;

[[noreturn]] void Die(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "rql_parser_fuzz: %s\ninput: %.*s\ndetail: %s\n", what,
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

bool SameLiteral(const Literal& a, const Literal& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case sb::rql::LiteralType::kInteger: return a.integer == b.integer;
    case sb::rql::LiteralType::kDouble:
      return std::memcmp(&a.number, &b.number, sizeof(double)) == 0;  // -0.0 != 0.0
    case sb::rql::LiteralType::kBoolean: return a.boolean == b.boolean;
    case sb::rql::LiteralType::kNull: return true;
    case sb::rql::LiteralType::kString:
    case sb::rql::LiteralType::kPlaceholder: return a.text == b.text;
  }
  return false;
}

bool SameTree(const Node& a, const Node& b) {
  if (a.kind != b.kind || a.property != b.property || a.values.size() != b.values.size() ||
      a.children.size() != b.children.size()) {
    return false;
  }
  if (a.kind == sb::rql::NodeKind::kComparison && a.op != b.op) return false;
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (!SameLiteral(a.values[i], b.values[i])) return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!SameTree(a.children[i], b.children[i])) return false;
  }
  return true;
}

size_t CountCharacters(std::string_view text) {
  size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

constexpr const char* kDocument = R"({
  "thingId": "org.acme:lamp-1", "_modified": "2024-05-01T10:00:00Z",
  "attributes": {"a": 1, "b": 2.5, "s": "str", "t": true, "n": null, "e": "", "o": {},
                 "arr": [1, "two", {"x": [3, [4]]}, null], "num": "12.5"},
  "features": {"f": {"properties": {"p": "q"}}},
  "topic": {"subject": "ask", "channel": "live"}, "resource": {"path": "/inbox/messages/ask"},
  "test": {"lower": "lorem"}
})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser json_parser;
  static simdjson::dom::element document = [] {
    simdjson::dom::element root;
    if (json_parser.parse(kDocument, std::strlen(kDocument)).get(root) != simdjson::SUCCESS) {
      std::abort();
    }
    return root;
  }();

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const sb::rql::ParseResult parsed = sb::rql::Parse(input);
  if (!parsed.ok) {
    if (parsed.error.message.empty()) Die("error without a message", input, "");
    if (parsed.error.position > CountCharacters(input)) {
      Die("error position past the end", input, sb::rql::FormatError(parsed.error));
    }
    return 0;
  }

  const std::string normalized = sb::rql::Normalize(parsed.root);
  sb::rql::ParseLimits unlimited;  // escaping may lengthen the text past the input limit
  unlimited.max_length = SIZE_MAX;
  const sb::rql::ParseResult reparsed = sb::rql::Parse(normalized, unlimited);
  if (!reparsed.ok) Die("normalized text does not parse", input, normalized);
  if (!SameTree(parsed.root, reparsed.root)) {
    Die("normalized text parses differently", input, normalized);
  }
  const std::string twice = sb::rql::Normalize(reparsed.root);
  if (twice != normalized) Die("normalization is not stable", input, normalized + " vs " + twice);

  sb::rql::EvalContext context;
  context.document = document;
  context.Set(sb::rql::Placeholder::kTopicSubject, "ask")
      .Set(sb::rql::Placeholder::kResourcePath, "/inbox/messages/ask")
      .Set(sb::rql::Placeholder::kEntityId, "org.acme:lamp-1");
  for (const auto source : {sb::rql::PlaceholderSource::kContext,
                            sb::rql::PlaceholderSource::kDocument}) {
    sb::rql::CompileOptions options;
    options.placeholders = source;
    const sb::rql::CompileResult compiled = sb::rql::Compile(parsed.root, options);
    if (!compiled.ok) continue;
    (void)compiled.filter.Matches(context);  // time:now from the clock
    // Same tree, same answer (with time:now fixed so the clock cannot tick in between).
    sb::rql::EvalContext fixed = context;
    fixed.now = std::chrono::system_clock::time_point(std::chrono::seconds(1714557600));
    const bool a = compiled.filter.Matches(fixed);
    const sb::rql::CompileResult recompiled = sb::rql::Compile(reparsed.root, options);
    if (!recompiled.ok) Die("normalized filter does not compile", input, normalized);
    if (recompiled.filter.Matches(fixed) != a) {
      Die("normalized filter evaluates differently", input, normalized);
    }
  }
  return 0;
}
