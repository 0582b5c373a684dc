// `sbctl rql check EXPR` and `sbctl rql eval EXPR JSON` (SPEC 8).
//   check: exit 0 and print the normalized filter; exit 1 and print
//          "error at position N (0-based): ..." to stderr. Compiles the way the router does
//          (placeholders from the message context), so unknown placeholders are errors too.
//   eval:  print `true` or `false` (exit 0) for the filter against the JSON document, where
//          any placeholder X:Y reads document[X][Y] (a Thing, or a message context with
//          `topic`, `resource` and `entity` objects). Bad filter or JSON: exit 1.
//   Wrong arguments: usage on stderr, exit 2.
#include <cstdio>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "rql/ast.h"
#include "rql/filter.h"
#include "rql/parser.h"
#include "tools/sbctl/commands.h"

namespace sb::sbctl {
namespace {

int Usage() {
  std::fputs(
      "usage: sbctl rql check EXPR        validate and normalize an RQL filter\n"
      "       sbctl rql eval EXPR JSON    evaluate a filter against a JSON document\n",
      stderr);
  return 2;
}

int ReportError(const rql::Error& error) {
  std::fprintf(stderr, "%s\n", rql::FormatError(error).c_str());
  return 1;
}

int Check(std::string_view expression) {
  const rql::ParseResult parsed = rql::Parse(expression);
  if (!parsed.ok) return ReportError(parsed.error);
  const rql::CompileResult compiled = rql::Compile(parsed.root);
  if (!compiled.ok) return ReportError(compiled.error);
  std::printf("%s\n", rql::Normalize(parsed.root).c_str());
  return 0;
}

int Eval(std::string_view expression, std::string_view json) {
  rql::CompileOptions options;
  options.placeholders = rql::PlaceholderSource::kDocument;
  const rql::CompileResult compiled = rql::ParseAndCompile(expression, options);
  if (!compiled.ok) return ReportError(compiled.error);

  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::dom::element document;
  const simdjson::error_code error = parser.parse(padded).get(document);
  if (error != simdjson::SUCCESS) {
    std::fprintf(stderr, "invalid JSON document: %s\n", simdjson::error_message(error));
    return 1;
  }
  rql::EvalContext context;
  context.document = document;
  std::puts(compiled.filter.Matches(context) ? "true" : "false");
  return 0;
}

}  // namespace

int RqlCommand(int argc, char** argv) {
  if (argc < 1) return Usage();
  const std::string_view subcommand = argv[0];
  int status;
  if (subcommand == "check" && argc == 2) {
    status = Check(argv[1]);
  } else if (subcommand == "eval" && argc == 3) {
    status = Eval(argv[1], argv[2]);
  } else {
    return Usage();
  }
  std::fflush(stdout);
  return status;
}

}  // namespace sb::sbctl
