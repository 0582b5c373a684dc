#include "net/mqtt/topic.h"

#include "net/mqtt/utf8.h"

namespace sb::mqtt {
namespace {

constexpr Status NameInvalid(const char* message) {
  return {ReasonCode::kTopicNameInvalid, message};
}
constexpr Status FilterInvalid(const char* message) {
  return {ReasonCode::kTopicFilterInvalid, message};
}

// Splits the next level off `text` starting at *pos. Sets *more to false when the level
// returned is the last one.
std::string_view NextLevel(std::string_view text, size_t* pos, bool* more) {
  const size_t start = *pos;
  const size_t slash = text.find('/', start);
  if (slash == std::string_view::npos) {
    *pos = text.size();
    *more = false;
    return text.substr(start);
  }
  *pos = slash + 1;
  return text.substr(start, slash - start);
}

}  // namespace

Status ValidateTopicName(std::string_view name, TopicLimits limits) {
  if (name.empty()) return NameInvalid("topic name is empty");
  if (name.size() > limits.max_bytes) return NameInvalid("topic name is too long");
  uint64_t levels = 1;
  for (const char c : name) {
    if (c == '+' || c == '#') return NameInvalid("topic name contains a wildcard");
    if (c == '/') ++levels;
  }
  if (levels > limits.max_levels) return NameInvalid("topic name has too many levels");
  if (!IsValidMqttUtf8(name)) return NameInvalid("topic name is not valid UTF-8 or has U+0000");
  return kOk;
}

Status ValidateTopicFilter(std::string_view filter, TopicLimits limits) {
  if (filter.empty()) return FilterInvalid("topic filter is empty");
  if (filter.size() > limits.max_bytes) return FilterInvalid("topic filter is too long");
  uint64_t levels = 1;
  const size_t n = filter.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = filter[i];
    if (c == '/') {
      ++levels;
    } else if (c == '+') {
      const bool starts_level = i == 0 || filter[i - 1] == '/';
      const bool ends_level = i + 1 == n || filter[i + 1] == '/';
      if (!starts_level || !ends_level) return FilterInvalid("'+' must fill a whole level");
    } else if (c == '#') {
      const bool starts_level = i == 0 || filter[i - 1] == '/';
      if (!starts_level || i + 1 != n) {
        return FilterInvalid("'#' must be alone in the last level");
      }
    }
  }
  if (levels > limits.max_levels) return FilterInvalid("topic filter has too many levels");
  if (!IsValidMqttUtf8(filter)) {
    return FilterInvalid("topic filter is not valid UTF-8 or has U+0000");
  }
  return kOk;
}

Status ValidateClientId(std::string_view client_id, uint32_t max_bytes) {
  if (client_id.empty()) {
    return {ReasonCode::kClientIdentifierNotValid, "client identifier is empty"};
  }
  if (client_id.size() > max_bytes) {
    return {ReasonCode::kClientIdentifierNotValid, "client identifier is too long"};
  }
  if (!IsValidMqttUtf8(client_id)) {
    return {ReasonCode::kClientIdentifierNotValid,
            "client identifier is not valid UTF-8 or has U+0000"};
  }
  return kOk;
}

bool IsSharedSubscription(std::string_view filter) { return filter.starts_with("$share/"); }

bool TopicMatches(std::string_view filter, std::string_view name) {
  if (!name.empty() && name.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  size_t filter_pos = 0;
  size_t name_pos = 0;
  bool filter_more = true;
  bool name_more = true;
  while (filter_more) {
    const std::string_view filter_level = NextLevel(filter, &filter_pos, &filter_more);
    if (filter_level == "#") return true;  // the rest, including no level at all
    if (!name_more) return false;
    const std::string_view name_level = NextLevel(name, &name_pos, &name_more);
    if (filter_level != "+" && filter_level != name_level) return false;
  }
  return !name_more;
}

bool HasWildcard(std::string_view filter) {
  return filter.find_first_of("+#") != std::string_view::npos;
}

}  // namespace sb::mqtt
