#include "net/http/encoding.h"

#include <array>
#include <cstring>

namespace sb::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Alphabet index of each byte, or -1.
constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Alphabet[i])] = int8_t(i);
  return table;
}();

// Length of the well-formed UTF-8 sequence at in[pos], or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view in, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(in[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char min_second = 0x80, max_second = 0xbf;  // RFC 3629 section 4 table
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) min_second = 0xa0;  // overlong
    if (lead == 0xed) max_second = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) min_second = 0x90;  // overlong
    if (lead == 0xf4) max_second = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (in.size() - pos < length) return 0;
  if (byte(pos + 1) < min_second || byte(pos + 1) > max_second) return 0;
  for (size_t i = 2; i < length; ++i) {
    if ((byte(pos + i) & 0xc0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

std::optional<size_t> PercentDecode(std::string_view in, char* out, size_t out_cap,
                                    PlusDecoding plus) {
  size_t written = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return std::nullopt;
      const int high = HexValue(in[i + 1]);
      const int low = HexValue(in[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus == PlusDecoding::kPlusAsSpace) {
      c = ' ';
    }
    if (written == out_cap) return std::nullopt;
    out[written++] = c;
  }
  return written;
}

bool QueryNameEquals(std::string_view raw_name, std::string_view name) {
  size_t matched = 0;
  for (size_t i = 0; i < raw_name.size(); ++i) {
    char c = raw_name[i];
    if (c == '%') {
      if (raw_name.size() - i < 3) return false;
      const int high = HexValue(raw_name[i + 1]);
      const int low = HexValue(raw_name[i + 2]);
      if (high < 0 || low < 0) return false;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (matched == name.size() || name[matched] != c) return false;
    ++matched;
  }
  return matched == name.size();
}

std::optional<std::string_view> FindQueryParam(std::string_view query, std::string_view name) {
  std::optional<std::string_view> found;
  ForEachQueryParam(query, [&](std::string_view raw_name, std::string_view raw_value) {
    if (!QueryNameEquals(raw_name, name)) return true;
    found = raw_value;
    return false;
  });
  return found;
}

std::optional<size_t> Base64Decode(std::string_view in, char* out, size_t out_cap) {
  if (in.size() % 4 != 0) return std::nullopt;
  if (in.empty()) return 0;
  const size_t padding = in.back() != '=' ? 0 : in[in.size() - 2] != '=' ? 1 : 2;
  const size_t decoded_size = in.size() / 4 * 3 - padding;
  if (decoded_size > out_cap) return std::nullopt;
  size_t written = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last_quantum = i + 4 == in.size();
    const size_t data_chars = last_quantum ? 4 - padding : 4;
    uint32_t bits = 0;
    for (size_t k = 0; k < 4; ++k) {
      int value = 0;
      if (k < data_chars) {
        value = kBase64Values[static_cast<unsigned char>(in[i + k])];
        if (value < 0) return std::nullopt;  // includes a stray '=' before the end
      }
      bits = bits << 6 | static_cast<uint32_t>(value);
    }
    // Unused bits of a padded quantum must be zero (RFC 4648 3.5, canonical encoding).
    if (data_chars == 3 && (bits & 0xff) != 0) return std::nullopt;
    if (data_chars == 2 && (bits & 0xffff) != 0) return std::nullopt;
    const size_t bytes = data_chars - 1;
    const char decoded[3] = {static_cast<char>(bits >> 16), static_cast<char>(bits >> 8),
                             static_cast<char>(bits)};
    for (size_t k = 0; k < bytes; ++k) out[written++] = decoded[k];
  }
  return written;
}

std::optional<size_t> Base64Encode(std::string_view in, char* out, size_t out_cap) {
  const size_t encoded_size = Base64EncodedSize(in.size());
  if (encoded_size > out_cap) return std::nullopt;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  size_t written = 0;
  size_t i = 0;
  for (; in.size() - i >= 3; i += 3) {
    const uint32_t bits = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out[written++] = kBase64Alphabet[bits >> 18];
    out[written++] = kBase64Alphabet[(bits >> 12) & 63];
    out[written++] = kBase64Alphabet[(bits >> 6) & 63];
    out[written++] = kBase64Alphabet[bits & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    const uint32_t bits = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out[written++] = kBase64Alphabet[bits >> 18];
    out[written++] = kBase64Alphabet[(bits >> 12) & 63];
    out[written++] = rest == 2 ? kBase64Alphabet[(bits >> 6) & 63] : '=';
    out[written++] = '=';
  }
  return written;
}

bool ValidUtf8(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size()) {
    // Mostly ASCII in practice: skip 8 bytes at a time while no byte has its top bit set.
    uint64_t word;
    if (in.size() - pos >= sizeof word) {
      std::memcpy(&word, in.data() + pos, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        pos += sizeof word;
        continue;
      }
    }
    const size_t length = Utf8SequenceLength(in, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

namespace internal {

void AppendJsonEscaped(std::string_view in, void* sink, AppendFn append) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run_start = 0;  // bytes in [run_start, pos) are copied verbatim
  size_t pos = 0;
  auto flush = [&] {
    if (pos > run_start) append(sink, in.substr(run_start, pos - run_start));
  };
  while (pos < in.size()) {
    const unsigned char c = static_cast<unsigned char>(in[pos]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++pos;
      continue;
    }
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(in, pos);
      if (length > 0) {
        pos += length;
        continue;
      }
    }
    flush();
    switch (c) {
      case '"': append(sink, "\\\""); break;
      case '\\': append(sink, "\\\\"); break;
      case '\n': append(sink, "\\n"); break;
      case '\r': append(sink, "\\r"); break;
      case '\t': append(sink, "\\t"); break;
      case '\b': append(sink, "\\b"); break;
      case '\f': append(sink, "\\f"); break;
      default:
        if (c < 0x20) {
          const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          append(sink, std::string_view(escape, sizeof escape));
        } else {
          append(sink, "\\ufffd");  // a byte of an invalid UTF-8 sequence
        }
    }
    run_start = ++pos;
  }
  flush();
}

}  // namespace internal
}  // namespace sb::http
