#include "policy/ditto_policy.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "policy/internal/bytes.h"
#include "policy/internal/json_fields.h"

namespace sb::policy {
namespace {

using internal::JsonTypeName;
using internal::QuoteForMessage;

PolicyError Error(std::string_view code, std::string message) {
  return PolicyError{std::string(code), std::move(message)};
}

bool IsAsciiLetter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) noexcept {
  return IsAsciiLetter(c) || (c >= '0' && c <= '9') || c == '_';
}

// `[a-zA-Z]\w*([.-][a-zA-Z]\w*)*` or empty.
bool IsValidNamespace(std::string_view ns) noexcept {
  if (ns.empty()) return true;
  std::size_t i = 0;
  for (;;) {
    if (i >= ns.size() || !IsAsciiLetter(ns[i])) return false;
    ++i;
    while (i < ns.size() && IsWordChar(ns[i])) ++i;
    if (i == ns.size()) return true;
    if (ns[i] != '.' && ns[i] != '-') return false;
    ++i;
  }
}

// True if `path` holds a byte < 0x20 or 0x7f, or an empty segment ("//"). Runs on every
// decision, so it works eight bytes at a time.
bool HasControlByteOrEmptySegment(std::string_view path) noexcept {
  using internal::kEveryByte;
  using internal::kHighBits;
  using internal::ZeroBytes;
  const char* p = path.data();
  std::size_t n = path.size();
  bool previous_slash = false;  // the last byte of the previous word was '/'
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    const std::uint64_t below_space = (word - 0x20 * kEveryByte) & ~word & kHighBits;
    const std::uint64_t del = ZeroBytes(word ^ (0x7f * kEveryByte));
    const std::uint64_t slashes = ZeroBytes(word ^ ('/' * kEveryByte));
    // Little-endian: byte i+1 sits 8 bits above byte i.
    const bool adjacent = (slashes & (slashes >> 8)) != 0 || (previous_slash && (slashes & 0x80));
    if (below_space != 0 || del != 0 || adjacent) return true;
    previous_slash = (slashes >> 63) != 0;
    p += 8;
    n -= 8;
  }
  for (; n != 0; ++p, --n) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == '/') {
      if (previous_slash) return true;
      previous_slash = true;
    } else {
      previous_slash = false;
    }
  }
  return false;
}

std::string TypeError(const std::string& field, std::string_view expected,
                      simdjson::dom::element element) {
  return field + " must be " + std::string(expected) + ", got " +
         std::string(JsonTypeName(element.type()));
}

std::string PermissionList(simdjson::dom::element element, const std::string& field,
                           DittoPermissionSet* out) {
  simdjson::dom::array list;
  if (element.get(list) != simdjson::SUCCESS) {
    return TypeError(field, "a list of permissions", element);
  }
  if (list.size() > 16) return field + " lists more than 16 permissions";
  std::size_t index = 0;
  for (simdjson::dom::element item : list) {
    std::string_view name;
    if (item.get(name) != simdjson::SUCCESS) {
      return TypeError(field + "[" + std::to_string(index) + "]", "a string", item);
    }
    if (const std::optional<DittoPermission> permission = ParseDittoPermission(name)) {
      *out |= PermissionBit(*permission);
    } else if (name != "EXECUTE") {  // accepted for Ditto 1.x documents, never checked
      return field + "[" + std::to_string(index) + "]: unknown permission " +
             QuoteForMessage(name) + " (allowed: READ, WRITE, EXECUTE)";
    }
    ++index;
  }
  return {};
}

// Validates the path of a policy resource and stores it normalized ("/" or "/a/b").
std::string NormalizePath(std::string_view key, std::string_view path, const std::string& field,
                          const DittoPolicyLimits& limits, std::string* out) {
  if (path.size() > limits.max_path_bytes) {
    return field + ": resource " + QuoteForMessage(key) + " is longer than " +
           std::to_string(limits.max_path_bytes) + " bytes";
  }
  std::size_t segments = 0;
  std::string_view segment;
  DittoPathSegments it(path);
  out->clear();
  while (it.Next(&segment)) {
    if (++segments > limits.max_path_segments) {
      return field + ": resource " + QuoteForMessage(key) + " is deeper than " +
             std::to_string(limits.max_path_segments) + " levels";
    }
    out->push_back('/');
    out->append(segment);
  }
  if (out->empty()) out->push_back('/');
  return {};
}

std::string ParseSubjects(simdjson::dom::element element, const std::string& field,
                          const DittoPolicyLimits& limits, std::vector<DittoSubject>* out) {
  simdjson::dom::object subjects;
  if (element.get(subjects) != simdjson::SUCCESS) {
    return TypeError(field, "an object of subject IDs", element);
  }
  if (subjects.size() > limits.max_subjects_per_entry) {
    return field + " has more than " + std::to_string(limits.max_subjects_per_entry) +
           " subjects";
  }
  std::string_view duplicate;
  if (internal::FindDuplicateKey(subjects, &duplicate)) {
    return field + " names subject " + QuoteForMessage(duplicate) + " twice";
  }
  for (auto [id, value] : subjects) {
    const std::string subject_field = field + "[" + QuoteForMessage(id) + "]";
    if (id.empty() || id.size() > limits.max_subject_bytes || internal::HasControlCharacter(id)) {
      return field + ": subject ID " + QuoteForMessage(id) + " must be 1.." +
             std::to_string(limits.max_subject_bytes) + " bytes without control characters";
    }
    simdjson::dom::object subject;
    if (value.get(subject) != simdjson::SUCCESS) {
      return TypeError(subject_field, "an object with a \"type\"", value);
    }
    if (internal::FindDuplicateKey(subject, &duplicate)) {
      return subject_field + " has the field " + QuoteForMessage(duplicate) + " twice";
    }
    DittoSubject parsed;
    parsed.id = std::string(id);
    bool has_type = false;
    for (auto [key, field_value] : subject) {
      if (key == "type") {
        std::string_view type;
        if (field_value.get(type) != simdjson::SUCCESS) {
          return TypeError(subject_field + ".type", "a string", field_value);
        }
        parsed.type = std::string(type);
        has_type = true;
      } else if (key == "announcement") {
        // Only configures notifications before expiry; nothing to enforce here.
      } else if (key == "expiry") {
        return subject_field + ".expiry is not supported (subjects never expire here)";
      } else {
        return subject_field + ": unknown field " + QuoteForMessage(key) + " (allowed: type)";
      }
    }
    if (!has_type) return subject_field + ".type is required";
    out->push_back(std::move(parsed));
  }
  return {};
}

std::string ParseResources(simdjson::dom::element element, const std::string& field,
                           const DittoPolicyLimits& limits,
                           std::vector<DittoResourceGrant>* out) {
  simdjson::dom::object resources;
  if (element.get(resources) != simdjson::SUCCESS) {
    return TypeError(field, "an object of resources", element);
  }
  if (resources.size() > limits.max_resources_per_entry) {
    return field + " has more than " + std::to_string(limits.max_resources_per_entry) +
           " resources";
  }
  for (auto [key, value] : resources) {
    const std::string resource_field = field + "[" + QuoteForMessage(key) + "]";
    const std::optional<DittoResourceKey> parsed_key = ParseDittoResourceKey(key);
    if (!parsed_key) {
      return field + ": invalid resource " + QuoteForMessage(key) +
             " (expected thing:/path, policy:/path or message:/path without empty segments)";
    }
    DittoResourceGrant resource;
    resource.type = parsed_key->type;
    if (std::string reason =
            NormalizePath(key, parsed_key->path, field, limits, &resource.path);
        !reason.empty()) {
      return reason;
    }
    for (const DittoResourceGrant& seen : *out) {
      if (seen.type == resource.type && seen.path == resource.path) {
        return field + " names resource " + QuoteForMessage(key) + " twice";
      }
    }
    simdjson::dom::object permissions;
    if (value.get(permissions) != simdjson::SUCCESS) {
      return TypeError(resource_field, "an object with \"grant\" and \"revoke\"", value);
    }
    std::string_view duplicate;
    if (internal::FindDuplicateKey(permissions, &duplicate)) {
      return resource_field + " has the field " + QuoteForMessage(duplicate) + " twice";
    }
    bool has_grant = false;
    bool has_revoke = false;
    for (auto [name, list] : permissions) {
      if (name == "grant") {
        if (std::string reason = PermissionList(list, resource_field + ".grant", &resource.grant);
            !reason.empty()) {
          return reason;
        }
        has_grant = true;
      } else if (name == "revoke") {
        if (std::string reason =
                PermissionList(list, resource_field + ".revoke", &resource.revoke);
            !reason.empty()) {
          return reason;
        }
        has_revoke = true;
      } else {
        return resource_field + ": unknown field " + QuoteForMessage(name) +
               " (allowed: grant, revoke)";
      }
    }
    if (!has_grant) return resource_field + ".grant is required";
    if (!has_revoke) return resource_field + ".revoke is required";
    out->push_back(std::move(resource));
  }
  return {};
}

std::string ParseEntry(std::string_view label, simdjson::dom::element element,
                       const DittoPolicyLimits& limits, DittoPolicyEntry* out) {
  const std::string field = "entries[" + QuoteForMessage(label) + "]";
  simdjson::dom::object entry;
  if (element.get(entry) != simdjson::SUCCESS) return TypeError(field, "an object", element);
  std::string_view duplicate;
  if (internal::FindDuplicateKey(entry, &duplicate)) {
    return field + " has the field " + QuoteForMessage(duplicate) + " twice";
  }
  out->label = std::string(label);
  bool has_subjects = false;
  bool has_resources = false;
  for (auto [key, value] : entry) {
    if (key == "subjects") {
      if (std::string reason = ParseSubjects(value, field + ".subjects", limits, &out->subjects);
          !reason.empty()) {
        return reason;
      }
      has_subjects = true;
    } else if (key == "resources") {
      if (std::string reason =
              ParseResources(value, field + ".resources", limits, &out->resources);
          !reason.empty()) {
        return reason;
      }
      has_resources = true;
    } else if (key == "importable") {
      std::string_view importable;
      if (value.get(importable) != simdjson::SUCCESS ||
          (importable != "implicit" && importable != "explicit" && importable != "never")) {
        return field + ".importable must be \"implicit\", \"explicit\" or \"never\"";
      }
    } else {
      return field + ": unknown field " + QuoteForMessage(key) +
             " (allowed: subjects, resources, importable)";
    }
  }
  if (!has_subjects) return field + ".subjects is required";
  if (!has_resources) return field + ".resources is required";
  return {};
}

}  // namespace

std::optional<DittoPermission> ParseDittoPermission(std::string_view name) noexcept {
  if (name == "READ") return DittoPermission::kRead;
  if (name == "WRITE") return DittoPermission::kWrite;
  return std::nullopt;
}

std::string_view DittoPermissionName(DittoPermission permission) noexcept {
  return permission == DittoPermission::kRead ? "READ" : "WRITE";
}

std::string_view DittoResourceTypeName(DittoResourceType type) noexcept {
  switch (type) {
    case DittoResourceType::kThing: return "thing";
    case DittoResourceType::kPolicy: return "policy";
    case DittoResourceType::kMessage: return "message";
  }
  return "thing";
}

std::optional<DittoResourceKey> ParseDittoResourceKey(std::string_view text) noexcept {
  DittoResourceKey key;
  if (text.starts_with("message:")) {
    key.type = DittoResourceType::kMessage;
    key.path = text.substr(8);
  } else if (text.starts_with("thing:")) {
    key.type = DittoResourceType::kThing;
    key.path = text.substr(6);
  } else if (text.starts_with("policy:")) {
    key.type = DittoResourceType::kPolicy;
    key.path = text.substr(7);
  } else {
    return std::nullopt;
  }
  if (key.path.empty()) return key;
  if (key.path.front() != '/') return std::nullopt;
  // An empty segment ("//") is invalid; a single trailing slash is allowed.
  if (HasControlByteOrEmptySegment(key.path)) return std::nullopt;
  return key;
}

bool IsValidDittoEntityId(std::string_view id) noexcept {
  if (id.size() > 256) return false;
  const std::size_t colon = id.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view name = id.substr(colon + 1);
  if (name.empty() || name.find('/') != std::string_view::npos ||
      internal::HasControlCharacter(name)) {
    return false;
  }
  return IsValidNamespace(id.substr(0, colon));
}

Result<DittoPolicyDocument> ParseDittoPolicy(std::string_view json,
                                             const DittoPolicyLimits& limits) {
  if (json.size() > limits.max_document_bytes) {
    return Error(kDittoPolicyTooLarge, "The size of " + std::to_string(json.size()) +
                                           " bytes exceeds the maximal allowed size of " +
                                           std::to_string(limits.max_document_bytes) +
                                           " bytes.");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (std::string reason = internal::ParseJsonDocument(parser, json, /*max_depth=*/32, &root);
      !reason.empty()) {
    return Error(kDittoJsonInvalid, std::move(reason));
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Error(kDittoPolicyInvalid, "the policy must be a JSON object, got " +
                                          std::string(JsonTypeName(root.type())));
  }
  std::string_view duplicate;
  if (internal::FindDuplicateKey(object, &duplicate)) {
    return Error(kDittoPolicyInvalid,
                 "the policy has the field " + QuoteForMessage(duplicate) + " twice");
  }
  DittoPolicyDocument document;
  bool has_entries = false;
  for (auto [key, value] : object) {
    if (key == "policyId") {
      std::string_view id;
      if (value.get(id) != simdjson::SUCCESS) {
        return Error(kDittoPolicyIdInvalid, TypeError("policyId", "a string", value));
      }
      if (!IsValidDittoEntityId(id)) {
        return Error(kDittoPolicyIdInvalid,
                     "The Policy ID " + QuoteForMessage(id) +
                         " is not valid: it must be namespace:name (namespace empty or "
                         "[a-zA-Z]\\w*([.-][a-zA-Z]\\w*)*, name without '/' or control "
                         "characters, at most 256 characters)");
      }
      document.policy_id = std::string(id);
    } else if (key == "entries") {
      simdjson::dom::object entries;
      if (value.get(entries) != simdjson::SUCCESS) {
        return Error(kDittoPolicyInvalid, TypeError("entries", "an object of labels", value));
      }
      if (entries.size() > limits.max_entries) {
        return Error(kDittoPolicyInvalid, "entries has more than " +
                                              std::to_string(limits.max_entries) + " labels");
      }
      if (internal::FindDuplicateKey(entries, &duplicate)) {
        return Error(kDittoLabelInvalid,
                     "entries names the label " + QuoteForMessage(duplicate) + " twice");
      }
      for (auto [label, entry] : entries) {
        if (label.empty() || label.size() > limits.max_label_bytes ||
            internal::HasControlCharacter(label)) {
          return Error(kDittoLabelInvalid,
                       "the label " + QuoteForMessage(label) + " must be 1.." +
                           std::to_string(limits.max_label_bytes) +
                           " bytes without control characters");
        }
        DittoPolicyEntry parsed;
        if (std::string reason = ParseEntry(label, entry, limits, &parsed); !reason.empty()) {
          return Error(kDittoPolicyInvalid, std::move(reason));
        }
        document.entries.push_back(std::move(parsed));
      }
      has_entries = true;
    } else if (key == "imports") {
      return Error(kDittoPolicyInvalid, "imports are not supported by this router");
    } else if (!key.empty() && key.front() == '_') {
      // Ditto's special fields (_revision, _created, _modified, _metadata): informational.
    } else {
      return Error(kDittoPolicyInvalid, "unknown top-level field " + QuoteForMessage(key) +
                                            " (allowed: policyId, entries)");
    }
  }
  if (!has_entries) return Error(kDittoPolicyInvalid, "entries is required");
  return document;
}

}  // namespace sb::policy
