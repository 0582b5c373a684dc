// What a compiled Filter (rql/filter.h) reads when it is evaluated against one message:
//   - an optional JSON document: the Thing, parsed once per Thing into simdjson's DOM and
//     kept by the caller (or, with PlaceholderSource::kDocument, a whole message context);
//   - the message's placeholder values (topic:, resource:, entity:) as string views;
//   - optionally the time that `time:now` stands for (default: the clock, read at most once
//     per evaluation).
// Everything is borrowed: the caller keeps the document and the strings alive while
// Filter::Matches() runs. An EvalContext is a small value built on the stack per message;
// building and filling it never allocates.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <simdjson.h>

namespace sb::rql {

// The placeholders a filter property may name (SPEC 3.7, plus Ditto's topic:full and
// topic:action-subject). Strings as Ditto spells them: see PlaceholderText().
enum class Placeholder : uint8_t {
  kTopicNamespace,      // topic:namespace      org.acme
  kTopicEntityName,     // topic:entityName     lamp-1
  kTopicGroup,          // topic:group          things
  kTopicChannel,        // topic:channel        live | twin
  kTopicCriterion,      // topic:criterion      messages | events | commands ...
  kTopicAction,         // topic:action         absent for messages
  kTopicSubject,        // topic:subject        the message subject
  kTopicActionSubject,  // topic:action-subject the action, else the subject
  kTopicFull,           // topic:full           org.acme/lamp-1/things/live/messages/ask
  kResourceType,        // resource:type        message | thing | ...
  kResourcePath,        // resource:path        /inbox/messages/ask
  kEntityId,            // entity:id            org.acme:lamp-1
  kEntityNamespace,     // entity:namespace     org.acme
  kEntityName,          // entity:name          lamp-1
};
inline constexpr size_t kPlaceholderCount = 14;

// True for "topic", "resource" and "entity".
bool IsPlaceholderPrefix(std::string_view prefix);
// ("topic", "subject") -> kTopicSubject; nullopt when the pair is unknown.
std::optional<Placeholder> FindPlaceholder(std::string_view prefix, std::string_view name);
// kTopicSubject -> "topic:subject".
std::string_view PlaceholderText(Placeholder placeholder);

struct EvalContext {
  // The Thing JSON. Absent: every document property is a missing field.
  std::optional<simdjson::dom::element> document;
  // Absent entries are missing fields (exists() false, ne() true); present ones are strings.
  std::array<std::optional<std::string_view>, kPlaceholderCount> placeholders{};
  // What time:now means; unset = std::chrono::system_clock::now() at evaluation.
  std::optional<std::chrono::system_clock::time_point> now;

  EvalContext& Set(Placeholder placeholder, std::string_view value) {
    placeholders[static_cast<size_t>(placeholder)] = value;
    return *this;
  }
  std::optional<std::string_view> Get(Placeholder placeholder) const {
    return placeholders[static_cast<size_t>(placeholder)];
  }
};

}  // namespace sb::rql
