#include "rql/parser.h"

#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

namespace sb::rql {
namespace {

constexpr bool IsWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

struct OperatorEntry {
  std::string_view name;
  NodeKind kind;
  ComparisonOp op;
};

// No name is a prefix of another, so Ditto's ordered choice reduces to a lookup of the
// whole run of letters.
constexpr OperatorEntry kOperators[] = {
    {"eq", NodeKind::kComparison, ComparisonOp::kEq},
    {"ne", NodeKind::kComparison, ComparisonOp::kNe},
    {"gt", NodeKind::kComparison, ComparisonOp::kGt},
    {"ge", NodeKind::kComparison, ComparisonOp::kGe},
    {"lt", NodeKind::kComparison, ComparisonOp::kLt},
    {"le", NodeKind::kComparison, ComparisonOp::kLe},
    {"like", NodeKind::kComparison, ComparisonOp::kLike},
    {"ilike", NodeKind::kComparison, ComparisonOp::kILike},
    {"in", NodeKind::kIn, ComparisonOp::kEq},
    {"and", NodeKind::kAnd, ComparisonOp::kEq},
    {"or", NodeKind::kOr, ComparisonOp::kEq},
    {"not", NodeKind::kNot, ComparisonOp::kEq},
    {"exists", NodeKind::kExists, ComparisonOp::kEq},
    {"empty", NodeKind::kEmpty, ComparisonOp::kEq},
};

const OperatorEntry* FindOperator(std::string_view name) {
  for (const OperatorEntry& entry : kOperators) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// Recursive descent over the borrowed text. Every loop advances pos_ or stops; recursion is
// bounded by limits_.max_depth. The first failure wins and is reported.
class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  ParseResult Run() {
    ParseResult result;
    if (text_.size() > limits_.max_length) {
      Fail(limits_.max_length,
           "filter is longer than " + std::to_string(limits_.max_length) + " bytes");
    } else {
      SkipWhitespace();
      if (ParseQuery(&result.root, 1) && pos_ != text_.size()) {
        Fail(pos_,
             "unexpected text after the final ')' (nothing, not even whitespace, may follow it)");
      }
    }
    if (failed_) {
      result.root = Node{};
      result.error = std::move(error_);
      return result;
    }
    result.ok = true;
    return result;
  }

 private:
  bool Fail(size_t offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.position = Position(offset);
      error_.message = std::move(message);
    }
    return false;
  }

  // Byte offset -> 0-based character index. Offsets are asked for mostly in increasing
  // order, so counting resumes where it stopped: linear over the whole parse.
  size_t Position(size_t offset) {
    if (offset > text_.size()) offset = text_.size();
    if (offset < counted_offset_) {
      counted_offset_ = 0;
      counted_chars_ = 0;
    }
    for (; counted_offset_ < offset; ++counted_offset_) {
      if ((static_cast<unsigned char>(text_[counted_offset_]) & 0xC0) != 0x80) ++counted_chars_;
    }
    return counted_chars_;
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool LookingAt(std::string_view s) const { return text_.substr(pos_).starts_with(s); }

  void SkipWhitespace() {
    while (pos_ < text_.size() && IsWhitespace(text_[pos_])) ++pos_;
  }

  bool Expect(char c, const char* message) {
    if (!Peek(c)) return Fail(pos_, message);
    ++pos_;
    return true;
  }

  bool ParseQuery(Node* node, uint32_t depth) {
    if (depth > limits_.max_depth) {
      return Fail(pos_, "filter is nested deeper than " + std::to_string(limits_.max_depth) +
                            " levels");
    }
    const size_t start = pos_;
    size_t end = pos_;
    while (end < text_.size() && IsAsciiLetter(text_[end])) ++end;
    const std::string_view name = text_.substr(start, end - start);
    const OperatorEntry* entry = FindOperator(name);
    if (entry == nullptr) {
      if (name.empty()) {
        return Fail(start,
                    "expected an operator (eq, ne, gt, ge, lt, le, like, ilike, in, and, or, "
                    "not, exists, empty)");
      }
      return Fail(start, "unknown operator '" + std::string(name) + "'");
    }
    pos_ = end;
    node->kind = entry->kind;
    node->op = entry->op;
    node->position = Position(start);
    if (!Expect('(', "expected '(' right after the operator name")) return false;

    switch (node->kind) {
      case NodeKind::kComparison: {
        if (!ParseProperty(node) || !Expect(',', "expected ','")) return false;
        node->values.emplace_back();
        return ParseLiteral(&node->values.back()) && Expect(')', "expected ')'");
      }
      case NodeKind::kIn: {
        if (!ParseProperty(node) || !Expect(',', "expected ','")) return false;
        while (true) {
          node->values.emplace_back();
          if (!ParseLiteral(&node->values.back())) return false;
          if (!Peek(',')) return Expect(')', "expected ',' or ')'");
          ++pos_;
        }
      }
      case NodeKind::kAnd:
      case NodeKind::kOr: {
        while (true) {
          node->children.emplace_back();
          if (!ParseQuery(&node->children.back(), depth + 1)) return false;
          if (!Peek(',')) return Expect(')', "expected ',' or ')'");
          ++pos_;
          SkipWhitespace();
        }
      }
      case NodeKind::kNot: {
        node->children.emplace_back();
        return ParseQuery(&node->children.back(), depth + 1) && Expect(')', "expected ')'");
      }
      case NodeKind::kExists:
      case NodeKind::kEmpty:
        return ParseProperty(node) && Expect(')', "expected ')'");
    }
    return Fail(start, "internal error: unhandled operator");
  }

  bool ParseProperty(Node* node) {
    node->property_position = Position(pos_);
    return ParseCharacters(&node->property);
  }

  // Ditto's `Characters`: an unquoted run up to ',', ')', '"' or an unescaped '\'.
  bool ParseCharacters(std::string* out) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ',' || c == ')' || c == '"') break;
      if (c == '\\') {
        ++pos_;
        if (!ParseEscape('"', out)) return false;
        continue;
      }
      out->push_back(c);
      ++pos_;
    }
    return true;
  }

  // After a backslash. `quote` is the quote that may be escaped: '\'' inside single quotes,
  // '"' everywhere else (Ditto accepts \" only in double quotes and \' only in single ones).
  bool ParseEscape(char quote, std::string* out) {
    const size_t backslash = pos_ - 1;
    if (AtEnd()) return Fail(backslash, "unfinished escape sequence");
    const char c = text_[pos_];
    char decoded;
    switch (c) {
      case 'b': decoded = '\b'; break;
      case 'f': decoded = '\f'; break;
      case 'n': decoded = '\n'; break;
      case 'r': decoded = '\r'; break;
      case 't': decoded = '\t'; break;
      case 'u': return ParseUnicodeEscape(backslash, out);
      default:
        if (c != quote && c != '\\' && c != '/') {
          return Fail(backslash, std::string("invalid escape sequence '\\") + c + "'");
        }
        decoded = c;
    }
    out->push_back(decoded);
    ++pos_;
    return true;
  }

  // pos_ is at the 'u'. Reads 4 hex digits (one UTF-16 unit); a high surrogate must be
  // followed by an escaped low surrogate, together one code point, emitted as UTF-8.
  bool ReadHex4(uint32_t* unit) {
    if (text_.size() - pos_ < 5) return false;
    uint32_t value = 0;
    for (size_t i = 1; i <= 4; ++i) {
      const int digit = HexValue(text_[pos_ + i]);
      if (digit < 0) return false;
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    *unit = value;
    pos_ += 5;
    return true;
  }

  bool ParseUnicodeEscape(size_t backslash, std::string* out) {
    uint32_t unit = 0;
    if (!ReadHex4(&unit)) return Fail(backslash, "\\u must be followed by 4 hex digits");
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return Fail(backslash, "unpaired UTF-16 low surrogate in \\u escape");
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      uint32_t low = 0;
      if (!LookingAt("\\u")) return Fail(backslash, "unpaired UTF-16 high surrogate in \\u escape");
      ++pos_;
      if (!ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
        return Fail(backslash, "unpaired UTF-16 high surrogate in \\u escape");
      }
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(unit, out);
    return true;
  }

  bool ParseQuoted(char quote, std::string* out) {
    const size_t start = pos_;
    ++pos_;  // opening quote
    while (true) {
      if (AtEnd()) return Fail(start, "unterminated string");
      const char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        ++pos_;
        if (!ParseEscape(quote, out)) return false;
        continue;
      }
      out->push_back(c);
      ++pos_;
    }
  }

  bool ParseLiteral(Literal* literal) {
    const size_t start = pos_;
    literal->position = Position(start);
    if (AtEnd()) return Fail(pos_, "expected a value");
    const char c = text_[pos_];
    bool ok = true;
    if (c == '+' || c == '-' || IsDigit(c)) {
      ok = ParseNumber(literal);
    } else if (c == '"' || c == '\'') {
      literal->type = LiteralType::kString;
      ok = ParseQuoted(c, &literal->text);
    } else if (LookingAt("time:")) {
      literal->type = LiteralType::kPlaceholder;
      literal->text = "time:";
      pos_ += 5;
      ok = ParseCharacters(&literal->text);
    } else if (LookingAt("true")) {
      literal->type = LiteralType::kBoolean;
      literal->boolean = true;
      pos_ += 4;
    } else if (LookingAt("false")) {
      literal->type = LiteralType::kBoolean;
      literal->boolean = false;
      pos_ += 5;
    } else if (LookingAt("null")) {
      literal->type = LiteralType::kNull;
      pos_ += 4;
    } else {
      return Fail(start,
                  "expected a value: a number, a quoted string, true, false, null or time:now "
                  "(no whitespace before it)");
    }
    if (!ok) return false;
    SkipWhitespace();
    return true;
  }

  bool ParseNumber(Literal* literal) {
    const size_t start = pos_;
    if (Peek('+') || Peek('-')) ++pos_;
    if (AtEnd() || !IsDigit(text_[pos_])) return Fail(pos_, "expected a digit");
    if (text_[pos_] == '0') {
      ++pos_;  // a leading 0 stands alone: 0123 is not a number
    } else {
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    bool is_double = false;
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
      is_double = true;
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    const bool negative = digits.front() == '-';
    if (digits.front() == '+') digits.remove_prefix(1);
    const char* first = digits.data();
    const char* last = first + digits.size();

    if (is_double) {
      double value = 0;
      const auto [end, ec] = std::from_chars(first, last, value, std::chars_format::fixed);
      if (ec == std::errc::result_out_of_range) {
        // Fixed notation: an integer part of 0 means the value underflowed (Java reads 0.0).
        const bool integer_part_zero = digits[negative ? 1 : 0] == '0';
        if (!integer_part_zero) return Fail(start, "number out of range");
        value = negative ? -0.0 : 0.0;
      } else if (ec != std::errc() || end != last || !std::isfinite(value)) {
        return Fail(start, "number out of range");
      }
      literal->type = LiteralType::kDouble;
      literal->number = value;
      return true;
    }
    if (digits.starts_with("-0")) return Fail(start, "'-0' is not a valid integer (write 0)");
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last) {
      return Fail(start, "integer out of the 64-bit signed range");
    }
    literal->type = LiteralType::kInteger;
    literal->integer = value;
    return true;
  }

  std::string_view text_;
  ParseLimits limits_;
  size_t pos_ = 0;
  bool failed_ = false;
  Error error_;
  size_t counted_offset_ = 0;
  size_t counted_chars_ = 0;
};

}  // namespace

std::string FormatError(const Error& error) {
  return "error at position " + std::to_string(error.position) + " (0-based): " + error.message;
}

ParseResult Parse(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).Run();
}

}  // namespace sb::rql
