#include "rql/eval_context.h"

namespace sb::rql {
namespace {

struct PlaceholderEntry {
  std::string_view prefix;
  std::string_view name;
  Placeholder placeholder;
};

// Indexed by Placeholder.
constexpr PlaceholderEntry kPlaceholders[kPlaceholderCount] = {
    {"topic", "namespace", Placeholder::kTopicNamespace},
    {"topic", "entityName", Placeholder::kTopicEntityName},
    {"topic", "group", Placeholder::kTopicGroup},
    {"topic", "channel", Placeholder::kTopicChannel},
    {"topic", "criterion", Placeholder::kTopicCriterion},
    {"topic", "action", Placeholder::kTopicAction},
    {"topic", "subject", Placeholder::kTopicSubject},
    {"topic", "action-subject", Placeholder::kTopicActionSubject},
    {"topic", "full", Placeholder::kTopicFull},
    {"resource", "type", Placeholder::kResourceType},
    {"resource", "path", Placeholder::kResourcePath},
    {"entity", "id", Placeholder::kEntityId},
    {"entity", "namespace", Placeholder::kEntityNamespace},
    {"entity", "name", Placeholder::kEntityName},
};

constexpr std::string_view kPlaceholderTexts[kPlaceholderCount] = {
    "topic:namespace", "topic:entityName", "topic:group",   "topic:channel",
    "topic:criterion", "topic:action",     "topic:subject", "topic:action-subject",
    "topic:full",      "resource:type",    "resource:path", "entity:id",
    "entity:namespace", "entity:name",
};

}  // namespace

bool IsPlaceholderPrefix(std::string_view prefix) {
  return prefix == "topic" || prefix == "resource" || prefix == "entity";
}

std::optional<Placeholder> FindPlaceholder(std::string_view prefix, std::string_view name) {
  for (const PlaceholderEntry& entry : kPlaceholders) {
    if (entry.prefix == prefix && entry.name == name) return entry.placeholder;
  }
  return std::nullopt;
}

std::string_view PlaceholderText(Placeholder placeholder) {
  const auto index = static_cast<size_t>(placeholder);
  return index < kPlaceholderCount ? kPlaceholderTexts[index] : std::string_view();
}

}  // namespace sb::rql
