#include "rql/like.h"

#include <cstddef>

namespace sb::rql {
namespace {

constexpr char FoldAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Length of the UTF-8 sequence starting at text[i]; 1 for an invalid or truncated one, so
// any byte string is a sequence of "characters".
size_t CharLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 1;
  }
  if (text.size() - i < length) return 1;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

}  // namespace

LikePattern::LikePattern(std::string_view pattern, bool case_insensitive)
    : case_insensitive_(case_insensitive) {
  pattern_.reserve(pattern.size());
  for (const char c : pattern) {
    if (c == '*' && !pattern_.empty() && pattern_.back() == '*') continue;
    if (c == '*' || c == '?') has_wildcards_ = true;
    pattern_.push_back(case_insensitive ? FoldAscii(c) : c);
  }
}

bool LikePattern::Matches(std::string_view text) const noexcept {
  const std::string_view pattern = pattern_;
  const bool fold = case_insensitive_;
  auto same = [fold](char p, char t) { return p == (fold ? FoldAscii(t) : t); };

  if (!has_wildcards_) {
    if (text.size() != pattern.size()) return false;
    for (size_t i = 0; i < text.size(); ++i) {
      if (!same(pattern[i], text[i])) return false;
    }
    return true;
  }

  // Greedy: on a mismatch, let the most recent '*' swallow one more character and retry
  // from there. Each retry moves star_text forward, so the work is bounded by
  // |text| * |pattern|. Literal multi-byte characters compare byte by byte; the text
  // position only ever restarts at character boundaries.
  size_t p = 0;
  size_t t = 0;
  size_t star_pattern = std::string_view::npos;
  size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_pattern = p++;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      t += CharLength(text, t);
      ++p;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
      ++p;
      ++t;
    } else if (star_pattern != std::string_view::npos) {
      p = star_pattern + 1;
      star_text += CharLength(text, star_text);
      t = star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace sb::rql
