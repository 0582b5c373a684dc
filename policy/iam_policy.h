// IAM-style policy documents (SPEC 4.2): parsing and validation of one JSON document into a
// plain value type. This is the control-plane half; compiled_iam_policies.h turns the
// documents attached to one principal into the structure that decisions walk.
//
// Accepted grammar (anything else is rejected with a reason naming the field):
//   {"Version": "2012-10-17",            optional; if present exactly "2012-10-17"
//    "Id": "...",                        optional, ignored
//    "Statement": <statement> | [<statement>, ...]}
//   statement: {"Sid": "...",            optional
//               "Effect": "Allow" | "Deny",
//               "Action": <string or non-empty list>,     e.g. "iot:Publish", "iot:*", "*"
//               "Resource": <string or non-empty list>,   ARN or short form, see below
//               "Condition": {<operator>: {<key>: <string or non-empty list>}}}   optional
//   operators: StringEquals, StringNotEquals, StringLike, StringNotLike
//   keys: iot:Topic, iot:ClientId, iot:Connection.Thing.ThingName
//
// Resources: `arn:<partition>:iot:<region>:<account>:<type>/<name>` (partition `aws...`;
// region and account are not checked and may be `*`) or the short form `<type>/<name>`;
// both are stored in short form. `*`, `?` and `${...}` variables are described in
// internal/glob.h. Actions are matched case-insensitively (as IAM does); action names we do
// not route (e.g. `iot:UpdateThingShadow`) are accepted and simply never match a request.
//
// Thread safety: plain values; ParseIamPolicy is reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/result.h"

namespace sb::policy {

// The actions the router decides (SPEC 4.2) and the resource type each one names.
enum class IotAction : std::uint8_t {
  kConnect = 0,            // client/{clientId}
  kPublish = 1,            // topic/{topic}
  kReceive = 2,            // topic/{topic}
  kSubscribe = 3,          // topicfilter/{filter}
  kSendDirectMessage = 4,  // client/{clientId}, condition key iot:Topic
};
inline constexpr std::size_t kIotActionCount = 5;

// "iot:Publish" -> kPublish (case-insensitive); nullopt for anything else.
std::optional<IotAction> ParseIotAction(std::string_view name) noexcept;
// kPublish -> "iot:Publish".
std::string_view IotActionName(IotAction action) noexcept;
// The short-form resource prefix of the type the router names for `action`: kConnect and
// kSendDirectMessage -> "client/", kPublish and kReceive -> "topic/", kSubscribe ->
// "topicfilter/". Compiled documents use it to skip documents that cannot match (inline:
// every decision asks).
constexpr std::string_view IotActionResourcePrefix(IotAction action) noexcept {
  switch (action) {
    case IotAction::kConnect:
    case IotAction::kSendDirectMessage: return "client/";
    case IotAction::kPublish:
    case IotAction::kReceive: return "topic/";
    case IotAction::kSubscribe: return "topicfilter/";
  }
  return {};
}

enum class IamEffect : std::uint8_t { kAllow, kDeny };

enum class IamConditionOperator : std::uint8_t {
  kStringEquals,
  kStringNotEquals,
  kStringLike,
  kStringNotLike,
};

enum class IamConditionKey : std::uint8_t {
  kTopic,      // iot:Topic
  kClientId,   // iot:ClientId
  kThingName,  // iot:Connection.Thing.ThingName
};

struct IamCondition {
  IamConditionOperator op = IamConditionOperator::kStringEquals;
  IamConditionKey key = IamConditionKey::kTopic;
  std::vector<std::string> values;  // as written (variables substituted at decision time)
};

struct IamStatement {
  std::string sid;
  IamEffect effect = IamEffect::kAllow;
  std::vector<std::string> actions;    // patterns as written, e.g. "iot:Send*"
  std::vector<std::string> resources;  // patterns in short form, e.g. "client/${iot:ClientId}"
  std::vector<IamCondition> conditions;
};

struct IamPolicyDocument {
  std::vector<IamStatement> statements;
};

// Bounds on untrusted documents; generous next to AWS's 2048-character policies, and small
// enough to bound the worst-case decision cost (see compiled_iam_policies.h).
struct IamPolicyLimits {
  std::size_t max_document_bytes = 16 * 1024;
  std::size_t max_statements = 256;
  std::size_t max_list_items = 256;        // per Action / Resource / condition value list
  std::size_t max_pattern_bytes = 1024;    // one action, resource or condition value
  std::size_t max_conditions = 16;         // operator/key pairs per statement
};

// Error code carried by every IAM parse error (the reason is in PolicyError::message).
inline constexpr std::string_view kIamPolicyInvalid = "iot:policy.invalid";

// Parses and validates one document. Errors name the field, e.g.
// `Statement[1].Condition: unsupported operator "ForAnyValue:StringLike"`.
Result<IamPolicyDocument> ParseIamPolicy(std::string_view json,
                                         const IamPolicyLimits& limits = {});

}  // namespace sb::policy
