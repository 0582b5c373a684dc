// IAM-style patterns (SPEC 4.2): `*` matches any run of characters (including `/` and the
// empty run), `?` exactly one character, everything else is literal, matching covers the
// whole string and is case-sensitive. Policy variables (`${iot:ClientId}`,
// `${iot:Connection.Thing.ThingName}`) are substituted at decision time and the substituted
// value is literal; `${*}`, `${?}` and `${$}` are the IAM escapes for a literal `*`, `?`, `$`.
//
// Patterns are tokenized once at compile time into GlobTokens whose literal bytes live in an
// arena owned by the compiled object. Matching is allocation-free and bounded: greedy with
// backtracking to the most recent `*` only, which is exact because every other token matches
// a fixed-length string, so a match costs at most O(|text| * |tokens|).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb::policy::internal {

enum class PolicyVariable : std::uint8_t { kClientId = 0, kThingName = 1 };
inline constexpr std::size_t kPolicyVariableCount = 2;

// The values of the policy variables for one decision. An empty value means the variable is
// not available for this request; a token that needs it matches nothing (so a statement that
// mentions `${iot:Connection.Thing.ThingName}` never applies to a connection without a Thing).
struct VariableValues {
  std::string_view values[kPolicyVariableCount];
  std::string_view Get(PolicyVariable variable) const noexcept {
    return values[static_cast<std::size_t>(variable)];
  }
};

enum class GlobTokenKind : std::uint8_t {
  kLiteral,   // bytes [offset, offset + length) of the arena
  kAnyChar,   // `?`
  kAnyRun,    // `*` (consecutive stars are collapsed into one)
  kVariable,  // the value of `variable`, compared literally
};

struct GlobToken {
  GlobTokenKind kind = GlobTokenKind::kLiteral;
  PolicyVariable variable = PolicyVariable::kClientId;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

// Whole-string match of `tokens` (literal bytes in `arena`) against `text`. No allocation.
bool GlobMatch(std::span<const GlobToken> tokens, std::string_view arena, std::string_view text,
               const VariableValues& variables) noexcept;

// Compile time: appends the tokens of `pattern` to `*tokens` (literal bytes to `*arena`).
// With `wildcards` false (StringEquals), `*` and `?` are literal. Returns an empty string on
// success, otherwise a human reason (unknown or unterminated `${...}` variable).
std::string TokenizePattern(std::string_view pattern, bool wildcards, std::string* arena,
                            std::vector<GlobToken>* tokens);

// `*`/`?` glob over plain text with optional ASCII case folding; used at compile time to
// expand action patterns such as `iot:Send*` against the known actions.
bool SimpleGlobMatch(std::string_view pattern, std::string_view text, bool ignore_case) noexcept;

}  // namespace sb::policy::internal
