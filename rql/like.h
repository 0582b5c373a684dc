// The `like` / `ilike` wildcard patterns of RQL (Ditto's LikeHelper semantics):
//   '*'  any run of characters, including none and including '/' and line breaks;
//   '?'  exactly one character (one UTF-8 code point; an invalid byte counts as one);
//   everything else is literal (regex metacharacters too); the whole string must match.
// `ilike` ignores case for ASCII letters only, as Java's Pattern.CASE_INSENSITIVE does in
// Ditto; other letters (é/É, ß) must match exactly.
//
// A LikePattern is built once (allocates) and is immutable: Matches() is const, thread-safe,
// never allocates and runs the two-pointer greedy-star algorithm, O(|text| * |pattern|) at
// worst with no backtracking explosion.
#pragma once

#include <string>
#include <string_view>

namespace sb::rql {

class LikePattern {
 public:
  LikePattern() = default;  // the empty pattern: matches only ""
  LikePattern(std::string_view pattern, bool case_insensitive);

  bool Matches(std::string_view text) const noexcept;

  bool case_insensitive() const { return case_insensitive_; }

 private:
  std::string pattern_;  // runs of '*' collapsed to one; ASCII lower-cased when ilike
  bool case_insensitive_ = false;
  bool has_wildcards_ = false;
};

}  // namespace sb::rql
