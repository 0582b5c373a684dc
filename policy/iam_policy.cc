#include "policy/iam_policy.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <utility>

#include "policy/internal/glob.h"
#include "policy/internal/json_fields.h"

namespace sb::policy {
namespace {

using internal::JsonTypeName;
using internal::QuoteForMessage;

constexpr std::array<std::string_view, kIotActionCount> kActionNames = {
    "iot:Connect", "iot:Publish", "iot:Receive", "iot:Subscribe", "iot:SendDirectMessage"};

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// `parent.key` for plain keys, `parent["we\u0001ird"]` for anything else, so untrusted keys
// never put raw control characters or unbounded text into a message.
std::string Member(const std::string& parent, std::string_view key) {
  const bool plain = !key.empty() && key.size() <= 64 &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '_' ||
                              c == '-';
                     });
  return plain ? parent + "." + std::string(key) : parent + "[" + QuoteForMessage(key) + "]";
}

PolicyError Invalid(std::string message) {
  return PolicyError{std::string(kIamPolicyInvalid), std::move(message)};
}

// Reads a string or a non-empty list of strings at `element` into `*out`. `field` names the
// element in messages ("Statement[0].Action").
std::string ReadStringOrList(simdjson::dom::element element, const std::string& field,
                             std::size_t max_items, std::vector<std::string>* out) {
  std::string_view text;
  if (element.get(text) == simdjson::SUCCESS) {
    out->emplace_back(text);
    return {};
  }
  simdjson::dom::array list;
  if (element.get(list) != simdjson::SUCCESS) {
    return field + " must be a string or a list of strings, got " +
           std::string(JsonTypeName(element.type()));
  }
  if (list.size() == 0) return field + " must not be an empty list";
  if (list.size() > max_items) {
    return field + " has " + std::to_string(list.size()) + " items, at most " +
           std::to_string(max_items) + " are allowed";
  }
  std::size_t index = 0;
  for (simdjson::dom::element item : list) {
    if (item.get(text) != simdjson::SUCCESS) {
      return field + "[" + std::to_string(index) + "] must be a string, got " +
             std::string(JsonTypeName(item.type()));
    }
    out->emplace_back(text);
    ++index;
  }
  return {};
}

std::string CheckPatternSize(std::string_view pattern, const std::string& field,
                             const IamPolicyLimits& limits) {
  if (pattern.empty()) return field + " must not be empty";
  if (pattern.size() > limits.max_pattern_bytes) {
    return field + " is " + std::to_string(pattern.size()) + " bytes, at most " +
           std::to_string(limits.max_pattern_bytes) + " are allowed";
  }
  return {};
}

// Checks `${...}` variables (and nothing else) by tokenizing into scratch storage.
std::string CheckVariables(std::string_view pattern, bool wildcards, const std::string& field) {
  std::string arena;
  std::vector<internal::GlobToken> tokens;
  std::string reason = internal::TokenizePattern(pattern, wildcards, &arena, &tokens);
  if (!reason.empty()) return field + " " + QuoteForMessage(pattern) + ": " + reason;
  return {};
}

// `arn:aws:iot:<region>:<account>:<type>/<name>` -> `<type>/<name>`; short forms unchanged.
std::string NormalizeResource(std::string_view resource, const std::string& field,
                              std::string* out) {
  if (!resource.starts_with("arn:")) {
    *out = std::string(resource);
    return {};
  }
  std::string_view parts[5];
  std::string_view rest = resource;
  for (std::string_view& part : parts) {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return field + " " + QuoteForMessage(resource) +
             " is not a valid ARN (expected arn:aws:iot:<region>:<account>:<type>/<name>)";
    }
    part = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  // parts: "arn", partition, service, region, account; `rest` is the resource (may hold ':').
  if (!(parts[1] == "*" || parts[1].starts_with("aws"))) {
    return field + " " + QuoteForMessage(resource) + " has an unknown ARN partition";
  }
  if (parts[2] != "iot") {
    return field + " " + QuoteForMessage(resource) +
           " is not an AWS IoT ARN (the service must be \"iot\")";
  }
  if (rest.empty()) {
    return field + " " + QuoteForMessage(resource) + " names no resource after the account";
  }
  *out = std::string(rest);
  return {};
}

std::string ParseAction(std::string_view action, const std::string& field,
                        const IamPolicyLimits& limits) {
  if (std::string reason = CheckPatternSize(action, field, limits); !reason.empty()) return reason;
  if (action == "*") return {};
  const std::size_t colon = action.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == action.size()) {
    return field + " " + QuoteForMessage(action) +
           " must have the form service:Action (e.g. \"iot:Publish\", \"iot:*\") or be \"*\"";
  }
  if (internal::HasControlCharacter(action)) {
    return field + " " + QuoteForMessage(action) + " contains a control character";
  }
  return {};
}

std::optional<IamConditionOperator> ParseOperator(std::string_view name) {
  if (name == "StringEquals") return IamConditionOperator::kStringEquals;
  if (name == "StringNotEquals") return IamConditionOperator::kStringNotEquals;
  if (name == "StringLike") return IamConditionOperator::kStringLike;
  if (name == "StringNotLike") return IamConditionOperator::kStringNotLike;
  return std::nullopt;
}

std::optional<IamConditionKey> ParseConditionKey(std::string_view name) {
  // IAM condition key names are case-insensitive.
  if (EqualsIgnoreAsciiCase(name, "iot:Topic")) return IamConditionKey::kTopic;
  if (EqualsIgnoreAsciiCase(name, "iot:ClientId")) return IamConditionKey::kClientId;
  if (EqualsIgnoreAsciiCase(name, "iot:Connection.Thing.ThingName")) {
    return IamConditionKey::kThingName;
  }
  return std::nullopt;
}

std::string ParseConditions(simdjson::dom::element element, const std::string& field,
                            const IamPolicyLimits& limits, std::vector<IamCondition>* out) {
  simdjson::dom::object operators;
  if (element.get(operators) != simdjson::SUCCESS) {
    return field + " must be an object, got " + std::string(JsonTypeName(element.type()));
  }
  std::string_view duplicate;
  if (internal::FindDuplicateKey(operators, &duplicate)) {
    return field + " names operator " + QuoteForMessage(duplicate) + " twice";
  }
  for (auto [operator_name, keys_element] : operators) {
    const std::string operator_field = Member(field, operator_name);
    const std::optional<IamConditionOperator> op = ParseOperator(operator_name);
    if (!op) {
      return field + ": unsupported operator " + QuoteForMessage(operator_name) +
             " (supported: StringEquals, StringNotEquals, StringLike, StringNotLike)";
    }
    simdjson::dom::object keys;
    if (keys_element.get(keys) != simdjson::SUCCESS) {
      return operator_field + " must be an object of condition keys, got " +
             std::string(JsonTypeName(keys_element.type()));
    }
    if (keys.size() == 0) return operator_field + " must name at least one condition key";
    if (internal::FindDuplicateKey(keys, &duplicate)) {
      return operator_field + " names key " + QuoteForMessage(duplicate) + " twice";
    }
    for (auto [key_name, values_element] : keys) {
      const std::string key_field = Member(operator_field, key_name);
      const std::optional<IamConditionKey> key = ParseConditionKey(key_name);
      if (!key) {
        return operator_field + ": unsupported condition key " + QuoteForMessage(key_name) +
               " (supported: iot:Topic, iot:ClientId, iot:Connection.Thing.ThingName)";
      }
      if (out->size() >= limits.max_conditions) {
        return field + " has more than " + std::to_string(limits.max_conditions) +
               " operator/key pairs";
      }
      IamCondition condition;
      condition.op = *op;
      condition.key = *key;
      if (std::string reason =
              ReadStringOrList(values_element, key_field, limits.max_list_items, &condition.values);
          !reason.empty()) {
        return reason;
      }
      const bool wildcards =
          *op == IamConditionOperator::kStringLike || *op == IamConditionOperator::kStringNotLike;
      for (const std::string& value : condition.values) {
        if (value.size() > limits.max_pattern_bytes) {
          return key_field + " has a value of " + std::to_string(value.size()) +
                 " bytes, at most " + std::to_string(limits.max_pattern_bytes) + " are allowed";
        }
        if (std::string reason = CheckVariables(value, wildcards, key_field); !reason.empty()) {
          return reason;
        }
      }
      out->push_back(std::move(condition));
    }
  }
  return {};
}

std::string ParseStatement(simdjson::dom::element element, const std::string& field,
                           const IamPolicyLimits& limits, IamStatement* out) {
  simdjson::dom::object object;
  if (element.get(object) != simdjson::SUCCESS) {
    return field + " must be an object, got " + std::string(JsonTypeName(element.type()));
  }
  std::string_view duplicate;
  if (internal::FindDuplicateKey(object, &duplicate)) {
    return field + " has the field " + QuoteForMessage(duplicate) + " twice";
  }
  bool has_effect = false;
  bool has_action = false;
  bool has_resource = false;
  for (auto [key, value] : object) {
    const std::string member = Member(field, key);
    if (key == "Sid") {
      std::string_view sid;
      if (value.get(sid) != simdjson::SUCCESS) {
        return member + " must be a string, got " + std::string(JsonTypeName(value.type()));
      }
      out->sid = std::string(sid);
    } else if (key == "Effect") {
      std::string_view effect;
      if (value.get(effect) != simdjson::SUCCESS) {
        return member + " must be a string, got " + std::string(JsonTypeName(value.type()));
      }
      if (effect == "Allow") {
        out->effect = IamEffect::kAllow;
      } else if (effect == "Deny") {
        out->effect = IamEffect::kDeny;
      } else {
        return member + " must be \"Allow\" or \"Deny\", got " + QuoteForMessage(effect);
      }
      has_effect = true;
    } else if (key == "Action") {
      if (std::string reason = ReadStringOrList(value, member, limits.max_list_items, &out->actions);
          !reason.empty()) {
        return reason;
      }
      for (const std::string& action : out->actions) {
        if (std::string reason = ParseAction(action, member, limits); !reason.empty()) return reason;
      }
      has_action = true;
    } else if (key == "Resource") {
      std::vector<std::string> written;
      if (std::string reason = ReadStringOrList(value, member, limits.max_list_items, &written);
          !reason.empty()) {
        return reason;
      }
      for (const std::string& resource : written) {
        if (std::string reason = CheckPatternSize(resource, member, limits); !reason.empty()) {
          return reason;
        }
        std::string normalized;
        if (std::string reason = NormalizeResource(resource, member, &normalized);
            !reason.empty()) {
          return reason;
        }
        if (std::string reason = CheckVariables(normalized, /*wildcards=*/true, member);
            !reason.empty()) {
          return reason;
        }
        out->resources.push_back(std::move(normalized));
      }
      has_resource = true;
    } else if (key == "Condition") {
      if (std::string reason = ParseConditions(value, member, limits, &out->conditions);
          !reason.empty()) {
        return reason;
      }
    } else if (key == "NotAction" || key == "NotResource" || key == "Principal" ||
               key == "NotPrincipal") {
      return member + " is not supported by this router (use Action, Resource and Deny)";
    } else {
      return field + ": unknown field " + QuoteForMessage(key) +
             " (allowed: Sid, Effect, Action, Resource, Condition)";
    }
  }
  if (!has_effect) return field + ".Effect is required";
  if (!has_action) return field + ".Action is required";
  if (!has_resource) return field + ".Resource is required";
  return {};
}

}  // namespace

std::optional<IotAction> ParseIotAction(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kActionNames.size(); ++i) {
    if (EqualsIgnoreAsciiCase(name, kActionNames[i])) return static_cast<IotAction>(i);
  }
  return std::nullopt;
}

std::string_view IotActionName(IotAction action) noexcept {
  const auto index = static_cast<std::size_t>(action);
  return index < kActionNames.size() ? kActionNames[index] : std::string_view("iot:?");
}

Result<IamPolicyDocument> ParseIamPolicy(std::string_view json, const IamPolicyLimits& limits) {
  if (json.size() > limits.max_document_bytes) {
    return Invalid("the policy document is " + std::to_string(json.size()) +
                   " bytes, at most " + std::to_string(limits.max_document_bytes) +
                   " are allowed");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (std::string reason = internal::ParseJsonDocument(parser, json, /*max_depth=*/16, &root);
      !reason.empty()) {
    return Invalid(std::move(reason));
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Invalid("the policy document must be a JSON object, got " +
                   std::string(JsonTypeName(root.type())));
  }
  std::string_view duplicate;
  if (internal::FindDuplicateKey(object, &duplicate)) {
    return Invalid("the policy document has the field " + QuoteForMessage(duplicate) + " twice");
  }
  IamPolicyDocument document;
  bool has_statement = false;
  for (auto [key, value] : object) {
    if (key == "Version") {
      std::string_view version;
      if (value.get(version) != simdjson::SUCCESS) {
        return Invalid("Version must be a string, got " + std::string(JsonTypeName(value.type())));
      }
      // 2008-10-17 would turn ${...} into literal text; refusing it avoids a silent surprise.
      if (version != "2012-10-17") {
        return Invalid("Version must be \"2012-10-17\", got " + QuoteForMessage(version));
      }
    } else if (key == "Id") {
      std::string_view id;
      if (value.get(id) != simdjson::SUCCESS) {
        return Invalid("Id must be a string, got " + std::string(JsonTypeName(value.type())));
      }
    } else if (key == "Statement") {
      has_statement = true;
      simdjson::dom::array statements;
      if (value.get(statements) == simdjson::SUCCESS) {
        if (statements.size() > limits.max_statements) {
          return Invalid("Statement has " + std::to_string(statements.size()) +
                         " entries, at most " + std::to_string(limits.max_statements) +
                         " are allowed");
        }
        std::size_t index = 0;
        for (simdjson::dom::element statement : statements) {
          IamStatement parsed;
          if (std::string reason = ParseStatement(
                  statement, "Statement[" + std::to_string(index) + "]", limits, &parsed);
              !reason.empty()) {
            return Invalid(std::move(reason));
          }
          document.statements.push_back(std::move(parsed));
          ++index;
        }
      } else if (value.type() == simdjson::dom::element_type::OBJECT) {
        IamStatement parsed;
        if (std::string reason = ParseStatement(value, "Statement", limits, &parsed);
            !reason.empty()) {
          return Invalid(std::move(reason));
        }
        document.statements.push_back(std::move(parsed));
      } else {
        return Invalid("Statement must be an object or a list of objects, got " +
                       std::string(JsonTypeName(value.type())));
      }
    } else {
      return Invalid("unknown top-level field " + QuoteForMessage(key) +
                     " (allowed: Version, Id, Statement)");
    }
  }
  if (!has_statement) return Invalid("Statement is required");
  return document;
}

}  // namespace sb::policy
