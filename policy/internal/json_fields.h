// Small helpers shared by the IAM and Ditto document parsers (control plane only): parsing a
// document with simdjson's DOM, naming JSON types in error messages, spotting duplicate keys
// (simdjson keeps them; a policy with two "Effect"s must be rejected, not guessed at) and
// quoting untrusted text safely into an error message.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace sb::policy::internal {

// Parses `text` into `parser`'s document and stores the root in `*root`. Returns an empty
// string on success, otherwise a human reason ("invalid JSON: ..."). Depth is capped at
// `max_depth` so a deeply nested body fails fast with a clear error.
std::string ParseJsonDocument(simdjson::dom::parser& parser, std::string_view text,
                              std::size_t max_depth, simdjson::dom::element* root);

// "an object", "a string", ... for messages such as: "Statement[0].Effect must be a string,
// got an array".
std::string_view JsonTypeName(simdjson::dom::element_type type) noexcept;

// Returns true and sets *duplicate if some key occurs twice in `object`.
bool FindDuplicateKey(simdjson::dom::object object, std::string_view* duplicate);

// Quotes untrusted text for an error message: JSON-style escapes for control characters and
// quotes, and at most `max_bytes` of input (then "...").
std::string QuoteForMessage(std::string_view text, std::size_t max_bytes = 80);

// True if `text` contains a C0 control character or DEL.
bool HasControlCharacter(std::string_view text) noexcept;

}  // namespace sb::policy::internal
