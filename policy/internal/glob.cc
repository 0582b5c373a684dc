#include "policy/internal/glob.h"

#include <cstddef>

#include "policy/internal/bytes.h"

namespace sb::policy::internal {
namespace {

constexpr std::size_t kNoStar = static_cast<std::size_t>(-1);

// Length consumed if the fixed-width `token` matches `text` at `pos`, or -1.
inline std::ptrdiff_t MatchFixedToken(const GlobToken& token, std::string_view arena,
                                      std::string_view text, std::size_t pos,
                                      const VariableValues& variables) noexcept {
  const std::string_view rest = text.substr(pos);
  switch (token.kind) {
    case GlobTokenKind::kLiteral: {
      const std::string_view literal = arena.substr(token.offset, token.length);
      return StartsWith(rest, literal) ? static_cast<std::ptrdiff_t>(literal.size()) : -1;
    }
    case GlobTokenKind::kAnyChar:
      return rest.empty() ? -1 : 1;
    case GlobTokenKind::kVariable: {
      const std::string_view value = variables.Get(token.variable);
      if (value.empty()) return -1;  // unavailable variable: matches nothing
      return StartsWith(rest, value) ? static_cast<std::ptrdiff_t>(value.size()) : -1;
    }
    case GlobTokenKind::kAnyRun:
      break;
  }
  return -1;
}

inline char FoldAscii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool GlobMatch(std::span<const GlobToken> tokens, std::string_view arena, std::string_view text,
               const VariableValues& variables) noexcept {
  std::size_t ti = 0;
  std::size_t si = 0;
  std::size_t star_ti = kNoStar;  // token index of the most recent `*`
  std::size_t star_si = 0;        // text index that `*` currently extends to
  const std::size_t token_count = tokens.size();
  const std::size_t n = text.size();
  for (;;) {
    if (ti < token_count) {
      const GlobToken& token = tokens[ti];
      if (token.kind == GlobTokenKind::kAnyRun) {
        if (ti + 1 == token_count) return true;  // trailing `*` swallows the rest
        star_ti = ti;
        star_si = si;
        ++ti;
        continue;
      }
      const std::ptrdiff_t consumed = MatchFixedToken(token, arena, text, si, variables);
      if (consumed >= 0) {
        si += static_cast<std::size_t>(consumed);
        ++ti;
        continue;
      }
    } else if (si == n) {
      return true;
    }
    // Mismatch: let the most recent `*` swallow one more character and retry after it.
    // Earlier stars never need to move (every other token has a fixed width).
    if (star_ti == kNoStar || star_si >= n) return false;
    ++star_si;
    si = star_si;
    ti = star_ti + 1;
  }
}

std::string TokenizePattern(std::string_view pattern, bool wildcards, std::string* arena,
                            std::vector<GlobToken>* tokens) {
  // Only tokens of this pattern may be merged: `tokens` may already hold other patterns.
  const std::size_t first_token = tokens->size();
  auto append_literal = [&](std::string_view bytes) {
    if (tokens->size() > first_token && tokens->back().kind == GlobTokenKind::kLiteral &&
        tokens->back().offset + tokens->back().length == arena->size()) {
      tokens->back().length += static_cast<std::uint32_t>(bytes.size());
    } else {
      tokens->push_back({GlobTokenKind::kLiteral, PolicyVariable::kClientId,
                         static_cast<std::uint32_t>(arena->size()),
                         static_cast<std::uint32_t>(bytes.size())});
    }
    arena->append(bytes);
  };
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '$' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      const std::size_t close = pattern.find('}', i + 2);
      if (close == std::string_view::npos) {
        return "unterminated policy variable starting at offset " + std::to_string(i);
      }
      const std::string_view name = pattern.substr(i + 2, close - i - 2);
      if (name == "iot:ClientId" || name == "iot:Connection.Thing.ThingName") {
        tokens->push_back({GlobTokenKind::kVariable,
                           name == "iot:ClientId" ? PolicyVariable::kClientId
                                                  : PolicyVariable::kThingName,
                           0, 0});
      } else if (name == "*" || name == "?" || name == "$") {
        append_literal(name);
      } else {
        std::string shown(name.substr(0, 64));
        return "unsupported policy variable ${" + shown +
               "} (supported: ${iot:ClientId}, ${iot:Connection.Thing.ThingName}, ${*}, ${?}, ${$})";
      }
      i = close + 1;
      continue;
    }
    if (wildcards && c == '*') {
      if (tokens->size() == first_token || tokens->back().kind != GlobTokenKind::kAnyRun) {
        tokens->push_back({GlobTokenKind::kAnyRun, PolicyVariable::kClientId, 0, 0});
      }
    } else if (wildcards && c == '?') {
      tokens->push_back({GlobTokenKind::kAnyChar, PolicyVariable::kClientId, 0, 0});
    } else {
      append_literal(pattern.substr(i, 1));
    }
    ++i;
  }
  return {};
}

bool SimpleGlobMatch(std::string_view pattern, std::string_view text, bool ignore_case) noexcept {
  std::size_t pi = 0;
  std::size_t si = 0;
  std::size_t star_pi = kNoStar;
  std::size_t star_si = 0;
  for (;;) {
    if (pi < pattern.size()) {
      const char p = pattern[pi];
      if (p == '*') {
        star_pi = pi++;
        star_si = si;
        continue;
      }
      if (si < text.size() &&
          (p == '?' || (ignore_case ? FoldAscii(p) == FoldAscii(text[si]) : p == text[si]))) {
        ++pi;
        ++si;
        continue;
      }
    } else if (si == text.size()) {
      return true;
    }
    if (star_pi == kNoStar || star_si >= text.size()) return false;
    si = ++star_si;
    pi = star_pi + 1;
  }
}

}  // namespace sb::policy::internal
