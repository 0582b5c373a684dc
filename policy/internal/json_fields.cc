#include "policy/internal/json_fields.h"

#include <algorithm>
#include <vector>

namespace sb::policy::internal {

std::string ParseJsonDocument(simdjson::dom::parser& parser, std::string_view text,
                              std::size_t max_depth, simdjson::dom::element* root) {
  // allocate() sizes the parser for this document and caps nesting depth.
  if (auto error = parser.allocate(std::max<std::size_t>(text.size(), 64), max_depth); error) {
    return std::string("cannot parse JSON: ") + simdjson::error_message(error);
  }
  simdjson::padded_string padded(text);
  if (auto error = parser.parse(padded).get(*root); error) {
    if (error == simdjson::DEPTH_ERROR) {
      return "invalid JSON: nested deeper than " + std::to_string(max_depth) + " levels";
    }
    return std::string("invalid JSON: ") + simdjson::error_message(error);
  }
  return {};
}

std::string_view JsonTypeName(simdjson::dom::element_type type) noexcept {
  using T = simdjson::dom::element_type;
  switch (type) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

bool FindDuplicateKey(simdjson::dom::object object, std::string_view* duplicate) {
  // Objects in policies are small; a linear scan beats building a set for the common case.
  if (object.size() <= 8) {
    std::string_view keys[8];
    std::size_t count = 0;
    for (auto field : object) {
      for (std::size_t i = 0; i < count; ++i) {
        if (keys[i] == field.key) {
          *duplicate = field.key;
          return true;
        }
      }
      keys[count++] = field.key;
    }
    return false;
  }
  std::vector<std::string_view> keys;
  keys.reserve(object.size());
  for (auto field : object) keys.push_back(field.key);
  std::sort(keys.begin(), keys.end());
  auto it = std::adjacent_find(keys.begin(), keys.end());
  if (it == keys.end()) return false;
  *duplicate = *it;
  return true;
}

std::string QuoteForMessage(std::string_view text, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t shown = std::min(text.size(), max_bytes);
  // Never cut a UTF-8 sequence in half: the message ends up in a JSON body.
  while (shown > 0 && shown < text.size() &&
         (static_cast<unsigned char>(text[shown]) & 0xC0) == 0x80) {
    --shown;
  }
  for (std::size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "...";
  out += '"';
  return out;
}

bool HasControlCharacter(std::string_view text) noexcept {
  return std::any_of(text.begin(), text.end(), [](char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

}  // namespace sb::policy::internal
