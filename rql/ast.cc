#include "rql/ast.h"

#include <charconv>

namespace sb::rql {
namespace {

void AppendControlEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

// Unquoted text (a property or a placeholder name): ',' and ')' would end it and have no
// short escape, so they are written as \u escapes.
void AppendUnquoted(std::string_view text, std::string* out) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ',') {
      out->append("\\u002c");
    } else if (c == ')') {
      out->append("\\u0029");
    } else if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20) {
      AppendControlEscape(byte, out);
    } else {
      out->push_back(c);
    }
  }
}

void AppendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20) {
      AppendControlEscape(byte, out);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendLiteral(const Literal& literal, std::string* out) {
  switch (literal.type) {
    case LiteralType::kInteger: {
      char buffer[24];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, literal.integer);
      out->append(buffer, result.ptr);
      return;
    }
    case LiteralType::kDouble: {
      // Shortest round-trip digits in fixed notation (the grammar has no exponent); the
      // longest, 5e-324, needs about 330 characters.
      char buffer[400];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, literal.number,
                                        std::chars_format::fixed);
      const std::string_view digits(buffer, result.ptr - buffer);
      out->append(digits);
      if (digits.find('.') == std::string_view::npos) out->append(".0");
      return;
    }
    case LiteralType::kString:
      AppendQuoted(literal.text, out);
      return;
    case LiteralType::kBoolean:
      out->append(literal.boolean ? "true" : "false");
      return;
    case LiteralType::kNull:
      out->append("null");
      return;
    case LiteralType::kPlaceholder: {
      // The prefix ("time:") is plain; the name after it is unquoted text.
      const size_t colon = literal.text.find(':');
      const size_t split = colon == std::string::npos ? 0 : colon + 1;
      out->append(literal.text, 0, split);
      AppendUnquoted(std::string_view(literal.text).substr(split), out);
      return;
    }
  }
}

void AppendNode(const Node& node, std::string* out) {
  out->append(OperatorName(node));
  out->push_back('(');
  switch (node.kind) {
    case NodeKind::kComparison:
    case NodeKind::kIn:
      AppendUnquoted(node.property, out);
      for (const Literal& value : node.values) {
        out->push_back(',');
        AppendLiteral(value, out);
      }
      break;
    case NodeKind::kAnd:
    case NodeKind::kOr:
    case NodeKind::kNot:
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendNode(node.children[i], out);
      }
      break;
    case NodeKind::kExists:
    case NodeKind::kEmpty:
      AppendUnquoted(node.property, out);
      break;
  }
  out->push_back(')');
}

}  // namespace

std::string_view OperatorName(const Node& node) {
  switch (node.kind) {
    case NodeKind::kComparison:
      switch (node.op) {
        case ComparisonOp::kEq: return "eq";
        case ComparisonOp::kNe: return "ne";
        case ComparisonOp::kGt: return "gt";
        case ComparisonOp::kGe: return "ge";
        case ComparisonOp::kLt: return "lt";
        case ComparisonOp::kLe: return "le";
        case ComparisonOp::kLike: return "like";
        case ComparisonOp::kILike: return "ilike";
      }
      return "eq";
    case NodeKind::kIn: return "in";
    case NodeKind::kAnd: return "and";
    case NodeKind::kOr: return "or";
    case NodeKind::kNot: return "not";
    case NodeKind::kExists: return "exists";
    case NodeKind::kEmpty: return "empty";
  }
  return "and";
}

std::string Normalize(const Node& root) {
  std::string out;
  AppendNode(root, &out);
  return out;
}

}  // namespace sb::rql
