// Topic names, topic filters and client identifiers: validation and matching.
//
// Rules (MQTT 3.1.1 4.7, MQTT 5.0 4.7): a topic name has no '+' or '#'; in a filter '+'
// fills a whole level and '#' is alone in the last level; both are UTF-8 without U+0000
// and at least one byte long. The byte and level limits are the caller's: MQTT itself
// allows 65535 bytes and any number of levels (the defaults of TopicLimits); Switchboard's
// product defaults (SPEC 6) are 256 bytes and 8 levels, passed in by the caller. Levels
// are the number of '/' plus one ("a/" has two levels, the second empty).
//
// All functions are pure, never allocate and may be called from any shard.
#pragma once

#include <cstdint>
#include <string_view>

#include "net/mqtt/reason_code.h"

namespace sb::mqtt {

struct TopicLimits {
  uint32_t max_bytes = 65535;
  uint32_t max_levels = UINT32_MAX;
};

// kSuccess, or kTopicNameInvalid with a message saying why.
Status ValidateTopicName(std::string_view name, TopicLimits limits = {});

// kSuccess, or kTopicFilterInvalid with a message saying why. A shared-subscription filter
// ("$share/group/f") is checked as an ordinary filter; see IsSharedSubscription.
Status ValidateTopicFilter(std::string_view filter, TopicLimits limits = {});

// kSuccess, or kClientIdentifierNotValid: empty, longer than max_bytes, or not valid
// MQTT UTF-8. An empty ID is never valid here: the server decides whether to assign one
// (MQTT 5.0 3.1.3.1) before it calls this.
Status ValidateClientId(std::string_view client_id, uint32_t max_bytes = 128);

// True if filter starts with "$share/" (MQTT 5.0 4.8.2). Switchboard does not implement
// shared subscriptions; the server refuses them with kSharedSubscriptionsNotSupported.
bool IsSharedSubscription(std::string_view filter);

// True if the valid topic name `name` matches the valid topic filter `filter`: '+' matches
// exactly one level (possibly empty), '#' matches the parent level and any number of
// levels below it ("a/#" matches "a"), and a filter whose first character is '+' or '#'
// does not match a name starting with '$' (MQTT 4.7.2). Invalid inputs give an
// unspecified result but stay within bounds.
bool TopicMatches(std::string_view filter, std::string_view name);

// True if the filter contains a '+' or '#' level.
bool HasWildcard(std::string_view filter);

}  // namespace sb::mqtt
