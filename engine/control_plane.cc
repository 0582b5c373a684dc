#include "engine/control_plane.h"

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <simdjson.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/compiled_iam_policies.h"
#include "policy/ditto_policy.h"
#include "policy/iam_policy.h"
#include "policy/password.h"

namespace sb::control {

struct ControlPlane::Queue {
  // A null request is the stop sentinel.
  moodycamel::BlockingConcurrentQueue<std::unique_ptr<Request>> items;
};

// One IAM-style policy: compiled once when it is PUT (or loaded), and that one compilation
// is shared by every principal that attaches it.
struct ControlPlane::IotPolicy {
  std::string document;  // as stored and returned by GET
  std::shared_ptr<const policy::CompiledIamDocument> compiled;
};

namespace {

using Response = ControlPlane::Response;
using Request = ControlPlane::Request;

constexpr std::string_view kJson = "application/json";
constexpr size_t kMaxJsonDepth = 128;
constexpr size_t kMaxPrincipalNameBytes = 128;
constexpr size_t kMaxIotPolicyNameBytes = 128;
constexpr size_t kMaxPasswordBytes = 1024;
constexpr size_t kMaxSubjects = 64;
constexpr size_t kMaxSubjectBytes = 512;
constexpr size_t kMaxAttachedPolicies = 64;
constexpr size_t kMaxFeatureIdBytes = 256;
constexpr size_t kMaxQuotedBytes = 256;

// ---- responses -----------------------------------------------------------------------

std::unique_ptr<Response> MakeResponse(int status, std::string body) {
  auto response = std::make_unique<Response>();
  response->status = status;
  if (!body.empty()) response->content_type = std::string(kJson);
  response->body = std::move(body);
  return response;
}

std::unique_ptr<Response> NoContent() { return MakeResponse(204, std::string()); }

// Ditto's error body: {"status","error","message","description"}.
std::unique_ptr<Response> ErrorResponse(int status, std::string_view error,
                                        std::string_view message,
                                        std::string_view description = {}) {
  std::string body = "{\"status\":" + std::to_string(status) + ",\"error\":";
  AppendJsonString(&body, error);
  body += ",\"message\":";
  AppendJsonString(&body, message);
  if (!description.empty()) {
    body += ",\"description\":";
    AppendJsonString(&body, description);
  }
  body += '}';
  return MakeResponse(status, std::move(body));
}

// Untrusted text for a message: at most kMaxQuotedBytes, in single quotes (Ditto's style).
std::string Quote(std::string_view text) {
  std::string out = "'";
  out.append(text.substr(0, kMaxQuotedBytes));
  if (text.size() > kMaxQuotedBytes) out += "...";
  out += '\'';
  return out;
}

std::unique_ptr<Response> InternalError(const Status& status) {
  return ErrorResponse(500, "internal.error",
                       "The request could not be completed: " + status.message(),
                       "The data store failed; nothing was changed. Retry later.");
}

// ---- parsing helpers -----------------------------------------------------------------

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment. False on a malformed escape.
bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return false;
    out->push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

bool IsValidUtf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

bool IsValidPrincipalName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxPrincipalNameBytes && IsValidUtf8(name) &&
         !HasControlCharacter(name) && name.find(':') == std::string_view::npos &&
         name.find('/') == std::string_view::npos;
}

// AWS IoT policy names: [\w+=,.@-]+, 1..128.
bool IsValidIotPolicyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxIotPolicyNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
  });
}

bool IsValidFeatureId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxFeatureIdBytes && id.find('/') == std::string_view::npos &&
         !HasControlCharacter(id);
}

std::string_view JsonTypeName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "a number";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

// Finds a key that occurs twice in some object anywhere inside `element` (simdjson keeps
// both; a stored document with two "policyId"s must be rejected, not guessed at). Depth is
// bounded by the parser's max depth.
bool FindDuplicateKeyDeep(simdjson::dom::element element, std::string* duplicate) {
  simdjson::dom::object object;
  simdjson::dom::array array;
  if (element.get(object) == simdjson::SUCCESS) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(object.size());
    for (auto [key, value] : object) {
      if (!seen.insert(key).second) {
        *duplicate = std::string(key);
        return true;
      }
      if (FindDuplicateKeyDeep(value, duplicate)) return true;
    }
  } else if (element.get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      if (FindDuplicateKeyDeep(item, duplicate)) return true;
    }
  }
  return false;
}

void AppendStringArray(std::string* out, std::span<const std::string> items) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out->push_back(',');
    AppendJsonString(out, items[i]);
  }
  out->push_back(']');
}

bool Contains(std::span<const std::string> items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// ---- routes --------------------------------------------------------------------------

enum class Resource : uint8_t { kPrincipal, kIotPolicy, kDittoPolicy, kThing };

struct Route {
  Resource resource;
  std::string_view raw_name;  // still percent-encoded
};

std::optional<Route> ParseRoute(std::string_view path) {
  if (const size_t query = path.find('?'); query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  static constexpr std::pair<std::string_view, Resource> kPrefixes[] = {
      {"/admin/principals/", Resource::kPrincipal},
      {"/admin/iot-policies/", Resource::kIotPolicy},
      {"/api/2/policies/", Resource::kDittoPolicy},
      {"/api/2/things/", Resource::kThing},
  };
  for (const auto& [prefix, resource] : kPrefixes) {
    if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix) {
      const std::string_view name = path.substr(prefix.size());
      if (name.find('/') != std::string_view::npos) return std::nullopt;
      return Route{resource, name};
    }
  }
  return std::nullopt;
}

enum class Method : uint8_t { kPut, kGet, kDelete };

std::optional<Method> ParseMethod(std::string_view method) {
  if (method == "PUT") return Method::kPut;
  if (method == "GET") return Method::kGet;
  if (method == "DELETE") return Method::kDelete;
  return std::nullopt;
}

// Ditto permission checks for a non-admin caller.
bool Allows(const policy::CompiledDittoPolicy* policy, const Principal& caller,
            std::string_view resource, policy::DittoPermissionSet permissions,
            policy::DittoCheckMode mode) {
  return policy != nullptr &&
         policy->HasPermissions(caller.subject_views, resource, permissions, mode);
}
bool CanWrite(const policy::CompiledDittoPolicy* policy, const Principal& caller,
              std::string_view resource) {
  return Allows(policy, caller, resource, policy::kWritePermission,
                policy::DittoCheckMode::kUnrestricted);
}
bool CanRead(const policy::CompiledDittoPolicy* policy, const Principal& caller,
             std::string_view resource) {
  return Allows(policy, caller, resource, policy::kReadPermission,
                policy::DittoCheckMode::kUnrestricted);
}
// "May see some of it": Ditto answers 404 rather than 403 when this fails.
bool CanSee(const policy::CompiledDittoPolicy* policy, const Principal& caller,
            std::string_view resource) {
  return Allows(policy, caller, resource, policy::kReadPermission,
                policy::DittoCheckMode::kPartial);
}

constexpr std::string_view kPolicyRoot = "policy:/";
constexpr std::string_view kThingRoot = "thing:/";

std::string CheckPermissionsDescription(std::string_view entity) {
  return "Check if the ID of your requested " + std::string(entity) +
         " was correct and you have sufficient permissions.";
}

}  // namespace

// ---- the API -------------------------------------------------------------------------

// The request handlers. Lives on the control thread with the ControlPlane it belongs to.
class ControlPlane::Api {
 public:
  explicit Api(ControlPlane* plane) : plane_(*plane), parser_(kMaxDittoBodyBytes * 4) {
    // The capacity grows on demand up to the limit above; the depth is fixed here. If this
    // small allocation fails, parse() retries it and reports the error per request.
    const simdjson::error_code ignored = parser_.allocate(4096, kMaxJsonDepth);
    (void)ignored;
  }

  std::unique_ptr<Response> Handle(const Request& request);

  // Builds a principal over the shared compiled documents it attaches (all exist: checked
  // on every write); compiles nothing.
  std::shared_ptr<const Principal> Rebuild(std::string name, std::string password_hash,
                                           std::span<const std::string> extra_subjects,
                                           std::vector<std::string> iot_policy_names) const;

 private:
  // Parses `body` into *root, or returns the 400 to send.
  std::unique_ptr<Response> ParseBody(std::string_view body, simdjson::dom::element* root);

  const Principal* Authenticate(std::string_view name) const;

  std::unique_ptr<Response> PutPrincipal(const std::string& name, std::string_view body);
  std::unique_ptr<Response> GetPrincipal(const std::string& name);
  std::unique_ptr<Response> DeletePrincipal(const std::string& name);

  std::unique_ptr<Response> PutIotPolicy(const std::string& name, std::string_view body);
  std::unique_ptr<Response> GetIotPolicy(const std::string& name);
  std::unique_ptr<Response> DeleteIotPolicy(const std::string& name);

  std::unique_ptr<Response> PutDittoPolicy(const Principal& caller, const std::string& id,
                                           std::string_view body);
  std::unique_ptr<Response> GetDittoPolicy(const Principal& caller, const std::string& id);
  std::unique_ptr<Response> DeleteDittoPolicy(const Principal& caller, const std::string& id);

  std::unique_ptr<Response> PutThing(const Principal& caller, const std::string& id,
                                     std::string_view body);
  std::unique_ptr<Response> GetThing(const Principal& caller, const std::string& id);
  std::unique_ptr<Response> DeleteThing(const Principal& caller, const std::string& id);

  const StoredDittoPolicy* FindDittoPolicy(std::string_view id) const {
    const auto it = plane_.tables_.ditto_policies->find(id);
    return it == plane_.tables_.ditto_policies->end() ? nullptr : it->second.get();
  }

  ControlPlane& plane_;
  simdjson::dom::parser parser_;
};

std::unique_ptr<Response> ControlPlane::Api::ParseBody(std::string_view body,
                                                       simdjson::dom::element* root) {
  const simdjson::error_code error =
      parser_.parse(body.data(), body.size(), /*realloc_if_needed=*/true).get(*root);
  if (error != simdjson::SUCCESS) {
    return ErrorResponse(400, "json.invalid",
                         std::string("Failed to parse JSON: ") + simdjson::error_message(error),
                         "Check if the JSON was valid (e.g. on https://jsonlint.com) and if it "
                         "was in required format.");
  }
  std::string duplicate;
  if (FindDuplicateKeyDeep(*root, &duplicate)) {
    return ErrorResponse(400, "json.invalid",
                         "The JSON object contains the key " + Quote(duplicate) + " twice.",
                         "Every key of a JSON object must be unique.");
  }
  return nullptr;
}

const Principal* ControlPlane::Api::Authenticate(std::string_view name) const {
  if (name.empty()) return plane_.tables_.anonymous.get();
  const auto it = plane_.tables_.principals->find(name);
  return it == plane_.tables_.principals->end() ? nullptr : it->second.get();
}

std::shared_ptr<const Principal> ControlPlane::Api::Rebuild(
    std::string name, std::string password_hash, std::span<const std::string> extra_subjects,
    std::vector<std::string> iot_policy_names) const {
  std::vector<std::shared_ptr<const policy::CompiledIamDocument>> documents;
  documents.reserve(iot_policy_names.size());
  for (const std::string& policy_name : iot_policy_names) {
    const auto it = plane_.iot_policies_->find(policy_name);
    if (it != plane_.iot_policies_->end()) documents.push_back(it->second->compiled);
  }
  const bool admin = name == kAdminPrincipalName;
  return BuildPrincipal(std::move(name), std::move(password_hash), extra_subjects,
                        std::move(iot_policy_names), documents, admin);
}

std::unique_ptr<Response> ControlPlane::Api::Handle(const Request& request) {
  const std::optional<Route> route = ParseRoute(request.path);
  if (!route) {
    return ErrorResponse(404, "resource.notfound",
                         "The requested resource " + Quote(request.path) + " was not found.",
                         "Check the path of your request.");
  }
  const Principal* caller = Authenticate(request.principal);
  if (caller == nullptr) {
    return ErrorResponse(401, "gateway:authentication.failed",
                         "The requester could not be authenticated.",
                         "Check if your credentials were correct.");
  }
  const std::optional<Method> method = ParseMethod(request.method);
  if (!method) {
    return ErrorResponse(405, "method.notallowed",
                         "The method " + Quote(request.method) +
                             " is not allowed on this resource (allowed: PUT, GET, DELETE).",
                         "Use PUT, GET or DELETE.");
  }
  std::string name;
  const bool decoded = PercentDecode(route->raw_name, &name);
  switch (route->resource) {
    case Resource::kPrincipal:
    case Resource::kIotPolicy: {
      if (!caller->admin) {
        return ErrorResponse(403, "admin:forbidden",
                             "Only the principal 'admin' may use the admin API.",
                             "Authenticate as 'admin'.");
      }
      if (route->resource == Resource::kPrincipal) {
        if (!decoded || !IsValidPrincipalName(name)) {
          return ErrorResponse(
              400, "admin:principal.name.invalid",
              "The principal name " + Quote(decoded ? name : route->raw_name) + " is not valid.",
              "A principal name has 1..128 bytes of UTF-8 without control "
              "characters, ':' or '/'.");
        }
        switch (*method) {
          case Method::kPut:
            return PutPrincipal(name, request.body);
          case Method::kGet:
            return GetPrincipal(name);
          case Method::kDelete:
            return DeletePrincipal(name);
        }
      }
      if (!decoded || !IsValidIotPolicyName(name)) {
        return ErrorResponse(
            400, "admin:iot-policy.name.invalid",
            "The IoT policy name " + Quote(decoded ? name : route->raw_name) + " is not valid.",
            "An IoT policy name has 1..128 characters of [A-Za-z0-9_+=,.@-].");
      }
      switch (*method) {
        case Method::kPut:
          return PutIotPolicy(name, request.body);
        case Method::kGet:
          return GetIotPolicy(name);
        case Method::kDelete:
          return DeleteIotPolicy(name);
      }
      break;
    }
    case Resource::kDittoPolicy: {
      if (!decoded || !policy::IsValidDittoEntityId(name)) {
        return ErrorResponse(
            400, "policies:id.invalid",
            "Policy ID " + Quote(decoded ? name : route->raw_name) + " is not valid!",
            "It must conform to the namespaced entity ID notation (see Ditto "
            "documentation)");
      }
      switch (*method) {
        case Method::kPut:
          return PutDittoPolicy(*caller, name, request.body);
        case Method::kGet:
          return GetDittoPolicy(*caller, name);
        case Method::kDelete:
          return DeleteDittoPolicy(*caller, name);
      }
      break;
    }
    case Resource::kThing: {
      if (!decoded || !policy::IsValidDittoEntityId(name)) {
        return ErrorResponse(
            400, "things:id.invalid",
            "Thing ID " + Quote(decoded ? name : route->raw_name) + " is not valid!",
            "It must conform to the namespaced entity ID notation (see Ditto "
            "documentation)");
      }
      switch (*method) {
        case Method::kPut:
          return PutThing(*caller, name, request.body);
        case Method::kGet:
          return GetThing(*caller, name);
        case Method::kDelete:
          return DeleteThing(*caller, name);
      }
      break;
    }
  }
  return ErrorResponse(500, "internal.error", "Unhandled route.");
}

// ---- principals ----------------------------------------------------------------------

namespace {

std::string PrincipalView(const Principal& principal) {
  std::string body = "{\"name\":";
  AppendJsonString(&body, principal.name);
  body += ",\"subjects\":";
  AppendStringArray(&body, principal.extra_subjects());
  body += ",\"iotPolicies\":";
  AppendStringArray(&body, principal.iot_policy_names);
  body += '}';
  return body;
}

std::unique_ptr<Response> InvalidPrincipal(std::string message) {
  return ErrorResponse(400, "admin:principal.invalid", message,
                       "Send {\"password\": \"...\", \"subjects\": [\"...\"], \"iotPolicies\": "
                       "[\"...\"]}; password is required on create.");
}

// Reads a JSON array of distinct, bounded strings into *out (duplicates dropped).
std::string ReadStringList(simdjson::dom::element value, std::string_view field, size_t max_items,
                           size_t max_bytes, std::vector<std::string>* out) {
  simdjson::dom::array array;
  if (value.get(array) != simdjson::SUCCESS) {
    return std::string(field) + " must be an array of strings, got " +
           std::string(JsonTypeName(value.type()));
  }
  if (array.size() > max_items) {
    return std::string(field) + " has more than " + std::to_string(max_items) + " items";
  }
  size_t index = 0;
  for (simdjson::dom::element item : array) {
    std::string_view text;
    const std::string item_field = std::string(field) + "[" + std::to_string(index++) + "]";
    if (item.get(text) != simdjson::SUCCESS) {
      return item_field + " must be a string, got " + std::string(JsonTypeName(item.type()));
    }
    if (text.empty() || text.size() > max_bytes || HasControlCharacter(text)) {
      return item_field + " must have 1.." + std::to_string(max_bytes) +
             " bytes without control characters";
    }
    if (!Contains(*out, text)) out->emplace_back(text);
  }
  return std::string();
}

}  // namespace

std::unique_ptr<Response> ControlPlane::Api::PutPrincipal(const std::string& name,
                                                          std::string_view body) {
  if (body.size() > kMaxAdminBodyBytes) {
    return ErrorResponse(
        413, "admin:request.toolarge",
        "The request body exceeds " + std::to_string(kMaxAdminBodyBytes) + " bytes.");
  }
  simdjson::dom::element root;
  if (auto error = ParseBody(body, &root)) return error;
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return InvalidPrincipal("The body must be a JSON object, got " +
                            std::string(JsonTypeName(root.type())) + ".");
  }
  std::optional<std::string_view> password;
  std::vector<std::string> subjects;
  std::vector<std::string> iot_policies;
  for (auto [key, value] : object) {
    if (key == "name") {
      std::string_view body_name;
      if (value.get(body_name) != simdjson::SUCCESS || body_name != name) {
        return InvalidPrincipal("name must be the string " + Quote(name) +
                                " (the name in the path).");
      }
    } else if (key == "password") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) {
        return InvalidPrincipal("password must be a string, got " +
                                std::string(JsonTypeName(value.type())) + ".");
      }
      if (text.empty() || text.size() > kMaxPasswordBytes) {
        return InvalidPrincipal("password must have 1.." + std::to_string(kMaxPasswordBytes) +
                                " bytes.");
      }
      password = text;
    } else if (key == "subjects") {
      if (std::string reason =
              ReadStringList(value, "subjects", kMaxSubjects, kMaxSubjectBytes, &subjects);
          !reason.empty()) {
        return InvalidPrincipal(reason + ".");
      }
    } else if (key == "iotPolicies") {
      if (std::string reason = ReadStringList(value, "iotPolicies", kMaxAttachedPolicies,
                                              kMaxIotPolicyNameBytes, &iot_policies);
          !reason.empty()) {
        return InvalidPrincipal(reason + ".");
      }
    } else {
      return InvalidPrincipal("unknown field " + Quote(key) +
                              " (allowed: name, password, subjects, iotPolicies).");
    }
  }
  // "basic:<name>" is implicit: keep it out of the configured extras.
  std::erase(subjects, "basic:" + name);
  for (const std::string& policy_name : iot_policies) {
    if (!plane_.iot_policies_->contains(policy_name)) {
      return ErrorResponse(
          400, "admin:iot-policy.notfound",
          "iotPolicies names the IoT policy " + Quote(policy_name) + ", which does not exist.",
          "Create the IoT policy first (PUT /admin/iot-policies/{name}).");
    }
  }
  const auto existing = plane_.tables_.principals->find(name);
  const bool create = existing == plane_.tables_.principals->end();
  if (create && !password) {
    return InvalidPrincipal("password is required to create the principal " + Quote(name) + ".");
  }
  std::string password_hash;
  if (password) {
    password_hash = policy::HashPassword(*password);
    if (password_hash.empty()) {
      return InternalError(Status::IoError("password hashing failed (out of memory?)"));
    }
  } else {
    password_hash = existing->second->password_hash;
  }

  PrincipalRecord record{name, password_hash, subjects, iot_policies};
  if (Status status = plane_.store_->PutPrincipal(record); !status.ok()) {
    return InternalError(status);
  }
  std::shared_ptr<const Principal> principal =
      Rebuild(name, std::move(password_hash), subjects, std::move(iot_policies));
  auto table = std::make_shared<PrincipalTable>(*plane_.tables_.principals);
  (*table)[name] = principal;
  plane_.tables_.principals = std::move(table);
  plane_.Publish(/*initial=*/false);
  if (create) return MakeResponse(201, PrincipalView(*principal));
  return NoContent();
}

std::unique_ptr<Response> ControlPlane::Api::GetPrincipal(const std::string& name) {
  const auto it = plane_.tables_.principals->find(name);
  if (it == plane_.tables_.principals->end()) {
    return ErrorResponse(404, "admin:principal.notfound",
                         "The principal " + Quote(name) + " does not exist.");
  }
  return MakeResponse(200, PrincipalView(*it->second));
}

std::unique_ptr<Response> ControlPlane::Api::DeletePrincipal(const std::string& name) {
  if (name == kAdminPrincipalName) {
    return ErrorResponse(403, "admin:principal.notdeletable",
                         "The principal 'admin' cannot be deleted.",
                         "Change its password with PUT instead.");
  }
  if (!plane_.tables_.principals->contains(name)) {
    return ErrorResponse(404, "admin:principal.notfound",
                         "The principal " + Quote(name) + " does not exist.");
  }
  if (Status status = plane_.store_->DeletePrincipal(name); !status.ok()) {
    return InternalError(status);
  }
  auto table = std::make_shared<PrincipalTable>(*plane_.tables_.principals);
  table->erase(name);
  plane_.tables_.principals = std::move(table);
  plane_.Publish(/*initial=*/false);
  return NoContent();
}

// ---- IoT (IAM-style) policies --------------------------------------------------------

std::unique_ptr<Response> ControlPlane::Api::PutIotPolicy(const std::string& name,
                                                          std::string_view body) {
  const policy::IamPolicyLimits limits;
  if (body.size() > limits.max_document_bytes) {
    return ErrorResponse(
        413, "admin:request.toolarge",
        "The IoT policy exceeds " + std::to_string(limits.max_document_bytes) + " bytes.");
  }
  policy::Result<policy::IamPolicyDocument> parsed = policy::ParseIamPolicy(body, limits);
  if (!parsed.ok()) {
    return ErrorResponse(400, parsed.error().code, parsed.error().message,
                         "Check the IAM-style policy document (SPEC 4.2).");
  }
  const bool create = !plane_.iot_policies_->contains(name);
  // Compiled before the store write so that nothing can fail after the COMMIT.
  auto stored = std::make_shared<IotPolicy>();
  stored->document = std::string(body);
  stored->compiled = policy::CompiledIamDocument::CompileShared(parsed.value());
  if (Status status = plane_.store_->PutIotPolicy(name, body); !status.ok()) {
    return InternalError(status);
  }
  (*plane_.iot_policies_)[name] = std::move(stored);

  if (!create) {
    // Rebuild every principal that attaches the changed document, over its new compilation
    // (the other documents they attach stay shared); share the other principals.
    std::shared_ptr<PrincipalTable> table;
    for (const auto& [principal_name, principal] : *plane_.tables_.principals) {
      if (!Contains(principal->iot_policy_names, name)) continue;
      if (!table) table = std::make_shared<PrincipalTable>(*plane_.tables_.principals);
      (*table)[principal_name] = Rebuild(principal->name, principal->password_hash,
                                         principal->extra_subjects(), principal->iot_policy_names);
    }
    if (table) plane_.tables_.principals = std::move(table);
  }
  // A new or changed document reaches the shards only through principals; publish anyway
  // so that the snapshot version tracks every acknowledged write.
  plane_.Publish(/*initial=*/false);
  if (create) return MakeResponse(201, std::string(body));
  return NoContent();
}

std::unique_ptr<Response> ControlPlane::Api::GetIotPolicy(const std::string& name) {
  const auto it = plane_.iot_policies_->find(name);
  if (it == plane_.iot_policies_->end()) {
    return ErrorResponse(404, "admin:iot-policy.notfound",
                         "The IoT policy " + Quote(name) + " does not exist.");
  }
  return MakeResponse(200, it->second->document);
}

std::unique_ptr<Response> ControlPlane::Api::DeleteIotPolicy(const std::string& name) {
  if (!plane_.iot_policies_->contains(name)) {
    return ErrorResponse(404, "admin:iot-policy.notfound",
                         "The IoT policy " + Quote(name) + " does not exist.");
  }
  std::vector<std::string_view> attached;
  for (const auto& [principal_name, principal] : *plane_.tables_.principals) {
    if (Contains(principal->iot_policy_names, name)) attached.push_back(principal_name);
  }
  if (!attached.empty()) {
    std::sort(attached.begin(), attached.end());
    std::string message = "The IoT policy " + Quote(name) + " is attached to the principal " +
                          Quote(attached.front());
    if (attached.size() > 1) {
      message += " and " + std::to_string(attached.size() - 1) + " more";
    }
    message += '.';
    return ErrorResponse(409, "admin:iot-policy.attached", message,
                         "Detach it from every principal (PUT /admin/principals/{name}) first.");
  }
  if (Status status = plane_.store_->DeleteIotPolicy(name); !status.ok()) {
    return InternalError(status);
  }
  plane_.iot_policies_->erase(name);
  plane_.Publish(/*initial=*/false);
  return NoContent();
}

// ---- Ditto policies ------------------------------------------------------------------

namespace {

std::unique_ptr<Response> PolicyNotFound(std::string_view id) {
  return ErrorResponse(404, "policies:policy.notfound",
                       "The Policy with ID " + Quote(id) +
                           " could not be found or requester had insufficient permissions to "
                           "access it.",
                       CheckPermissionsDescription("Policy"));
}

std::unique_ptr<Response> PolicyNotModifiable(std::string_view id) {
  return ErrorResponse(403, "policies:policy.notmodifiable",
                       "The Policy with ID " + Quote(id) +
                           " could not be modified as the requester had insufficient "
                           "permissions.",
                       CheckPermissionsDescription("Policy"));
}

// `{"policyId":"<id>",...every other field of `object` as sent}`, minified.
std::string NormalizePolicyDocument(std::string_view id, simdjson::dom::object object) {
  std::string out = "{\"policyId\":";
  AppendJsonString(&out, id);
  for (auto [key, value] : object) {
    if (key == "policyId") continue;
    out += ',';
    AppendJsonString(&out, key);
    out += ':';
    out += simdjson::minify(value);
  }
  out += '}';
  return out;
}

}  // namespace

std::unique_ptr<Response> ControlPlane::Api::PutDittoPolicy(const Principal& caller,
                                                            const std::string& id,
                                                            std::string_view body) {
  const policy::DittoPolicyLimits limits;
  if (body.size() > std::min(limits.max_document_bytes, kMaxDittoBodyBytes)) {
    return ErrorResponse(
        413, "policies:policy.toolarge",
        "The size of " + std::to_string(body.size()) +
            " bytes exceeds the maximal allowed Policy size of " +
            std::to_string(std::min(limits.max_document_bytes, kMaxDittoBodyBytes)) + " bytes.",
        "Reduce the size of the Policy.");
  }
  policy::Result<policy::DittoPolicyDocument> parsed = policy::ParseDittoPolicy(body, limits);
  if (!parsed.ok()) {
    const policy::PolicyError& error = parsed.error();
    const int status = error.code == policy::kDittoPolicyTooLarge ? 413 : 400;
    return ErrorResponse(status, error.code, error.message,
                         "Check the Policy JSON (entries, subjects, resources, grant/revoke).");
  }
  if (!parsed.value().policy_id.empty() && parsed.value().policy_id != id) {
    return ErrorResponse(400, "policies:id.notsettable",
                         "The Policy ID in the request body is not equal to the Policy ID in "
                         "the request URL.",
                         "Either delete the Policy ID from the request body or use the same "
                         "Policy ID as in the request URL.");
  }
  simdjson::dom::element root;
  if (auto error = ParseBody(body, &root)) return error;  // valid: ParseDittoPolicy accepted it
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return ErrorResponse(400, "policies:policy.invalid", "The Policy must be a JSON object.");
  }
  policy::CompiledDittoPolicy compiled = policy::CompiledDittoPolicy::Compile(parsed.value());
  const StoredDittoPolicy* existing = FindDittoPolicy(id);
  if (!caller.admin) {
    if (existing == nullptr) {
      if (!CanWrite(&compiled, caller, kPolicyRoot)) {
        return ErrorResponse(403, "policies:policy.notcreatable",
                             "The Policy with ID " + Quote(id) +
                                 " could not be created as the requester had insufficient "
                                 "permissions.",
                             "Check if you have sufficient permissions in the new policy to "
                             "create: it must grant you 'WRITE' on 'policy:/'.");
      }
    } else {
      if (!CanSee(&existing->compiled, caller, kPolicyRoot)) return PolicyNotFound(id);
      if (!CanWrite(&existing->compiled, caller, kPolicyRoot)) return PolicyNotModifiable(id);
      if (compiled.SubjectsWithPermission(kPolicyRoot, policy::DittoPermission::kWrite).empty()) {
        return ErrorResponse(403, "policies:policy.modificationinvalid",
                             "The Policy with ID " + Quote(id) +
                                 " could not be modified as the resulting Policy would be "
                                 "invalid.",
                             "There must always be at least one PolicyEntry with 'WRITE' "
                             "permissions on resource 'policy:/'.");
      }
    }
  }
  std::string document = NormalizePolicyDocument(id, object);
  if (Status status = plane_.store_->PutDittoPolicy(id, document); !status.ok()) {
    return InternalError(status);
  }
  auto stored = std::make_shared<StoredDittoPolicy>();
  stored->id = id;
  stored->document = document;
  stored->compiled = std::move(compiled);
  auto table = std::make_shared<DittoPolicyTable>(*plane_.tables_.ditto_policies);
  (*table)[id] = std::move(stored);
  plane_.tables_.ditto_policies = std::move(table);
  plane_.Publish(/*initial=*/false);
  if (existing == nullptr) return MakeResponse(201, std::move(document));
  return NoContent();
}

std::unique_ptr<Response> ControlPlane::Api::GetDittoPolicy(const Principal& caller,
                                                            const std::string& id) {
  const StoredDittoPolicy* existing = FindDittoPolicy(id);
  if (existing == nullptr ||
      (!caller.admin && !CanRead(&existing->compiled, caller, kPolicyRoot))) {
    return PolicyNotFound(id);
  }
  return MakeResponse(200, existing->document);
}

std::unique_ptr<Response> ControlPlane::Api::DeleteDittoPolicy(const Principal& caller,
                                                               const std::string& id) {
  const StoredDittoPolicy* existing = FindDittoPolicy(id);
  if (existing == nullptr) return PolicyNotFound(id);
  if (!caller.admin) {
    if (!CanSee(&existing->compiled, caller, kPolicyRoot)) return PolicyNotFound(id);
    if (!CanWrite(&existing->compiled, caller, kPolicyRoot)) return PolicyNotModifiable(id);
  }
  if (Status status = plane_.store_->DeleteDittoPolicy(id); !status.ok()) {
    return InternalError(status);
  }
  auto table = std::make_shared<DittoPolicyTable>(*plane_.tables_.ditto_policies);
  table->erase(id);
  plane_.tables_.ditto_policies = std::move(table);
  plane_.Publish(/*initial=*/false);
  return NoContent();
}

// ---- Things --------------------------------------------------------------------------

namespace {

std::unique_ptr<Response> ThingNotFound(std::string_view id) {
  return ErrorResponse(404, "things:thing.notfound",
                       "The Thing with ID " + Quote(id) +
                           " could not be found or requester had insufficient permissions to "
                           "access it.",
                       CheckPermissionsDescription("Thing"));
}

std::unique_ptr<Response> ThingNotModifiable(std::string_view id, std::string_view verb) {
  return ErrorResponse(403, "things:thing.notmodifiable",
                       "The Thing with ID " + Quote(id) + " could not be " + std::string(verb) +
                           " as the requester had insufficient permissions ('WRITE' is "
                           "required).",
                       CheckPermissionsDescription("Thing"));
}

std::unique_ptr<Response> InvalidThingJson(std::string message) {
  return ErrorResponse(400, "json.invalid", message,
                       "A Thing is {\"thingId\", \"policyId\", \"definition\", \"attributes\", "
                       "\"features\"}.");
}

// The parts of a Thing body that the stored document keeps.
struct ThingBody {
  std::optional<std::string_view> thing_id;
  std::optional<std::string_view> policy_id;
  std::optional<simdjson::dom::element> definition;
  std::optional<simdjson::dom::element> attributes;
  std::optional<simdjson::dom::element> features;
};

std::unique_ptr<Response> ReadThingBody(simdjson::dom::element root, ThingBody* thing) {
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return InvalidThingJson("The Thing must be a JSON object, got " +
                            std::string(JsonTypeName(root.type())) + ".");
  }
  for (auto [key, value] : object) {
    if (key == "thingId") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) {
        return InvalidThingJson("thingId must be a string.");
      }
      thing->thing_id = text;
    } else if (key == "policyId") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) {
        return InvalidThingJson("policyId must be a string.");
      }
      if (!policy::IsValidDittoEntityId(text)) {
        return ErrorResponse(400, "policies:id.invalid",
                             "Policy ID " + Quote(text) + " is not valid!",
                             "It must conform to the namespaced entity ID notation (see Ditto "
                             "documentation)");
      }
      thing->policy_id = text;
    } else if (key == "definition") {
      if (!value.is_string() && !value.is_null()) {
        return InvalidThingJson("definition must be a string or null.");
      }
      thing->definition = value;
    } else if (key == "attributes") {
      if (!value.is_object()) {
        return InvalidThingJson("attributes must be a JSON object, got " +
                                std::string(JsonTypeName(value.type())) + ".");
      }
      thing->attributes = value;
    } else if (key == "features") {
      simdjson::dom::object features;
      if (value.get(features) != simdjson::SUCCESS) {
        return InvalidThingJson("features must be a JSON object, got " +
                                std::string(JsonTypeName(value.type())) + ".");
      }
      for (auto [feature_id, feature] : features) {
        if (!IsValidFeatureId(feature_id)) {
          return ErrorResponse(400, "things:feature.id.invalid",
                               "The Feature ID " + Quote(feature_id) + " is not valid.",
                               "A Feature ID is non-empty, at most 256 bytes, without '/' or "
                               "control characters.");
        }
        if (!feature.is_object()) {
          return InvalidThingJson("features/" + std::string(feature_id.substr(0, kMaxQuotedBytes)) +
                                  " must be a JSON object.");
        }
      }
      thing->features = value;
    } else if (!key.empty() && key.front() == '_') {
      // Ditto's read-only system fields (_revision, _modified, ...): not ours to store.
    } else {
      return InvalidThingJson("unknown field " + Quote(key) +
                              " (allowed: thingId, policyId, definition, attributes, "
                              "features).");
    }
  }
  return nullptr;
}

std::string SerializeThing(std::string_view id, std::string_view policy_id,
                           const ThingBody& thing) {
  std::string out = "{\"thingId\":";
  AppendJsonString(&out, id);
  out += ",\"policyId\":";
  AppendJsonString(&out, policy_id);
  const std::pair<std::string_view, const std::optional<simdjson::dom::element>*> fields[] = {
      {"definition", &thing.definition},
      {"attributes", &thing.attributes},
      {"features", &thing.features},
  };
  for (const auto& [name, value] : fields) {
    if (!value->has_value()) continue;
    out += ",\"";
    out += name;
    out += "\":";
    out += simdjson::minify(**value);
  }
  out += '}';
  return out;
}

}  // namespace

std::unique_ptr<Response> ControlPlane::Api::PutThing(const Principal& caller,
                                                      const std::string& id,
                                                      std::string_view body) {
  if (body.size() > kMaxDittoBodyBytes) {
    return ErrorResponse(413, "things:thing.toolarge",
                         "The size of " + std::to_string(body.size()) +
                             " bytes exceeds the maximal allowed Thing size of " +
                             std::to_string(kMaxDittoBodyBytes) + " bytes.",
                         "Reduce the size of the Thing, e.g. by splitting it into several "
                         "Things.");
  }
  simdjson::dom::element root;
  if (auto error = ParseBody(body, &root)) return error;
  ThingBody thing;
  if (auto error = ReadThingBody(root, &thing)) return error;
  if (thing.thing_id && *thing.thing_id != id) {
    return ErrorResponse(400, "things:id.notsettable",
                         "The Thing ID in the request body is not equal to the Thing ID in the "
                         "request URL.",
                         "Either delete the Thing ID from the request body or use the same "
                         "Thing ID as in the request URL.");
  }
  const auto existing_it = plane_.tables_.things->find(id);
  const Thing* existing =
      existing_it == plane_.tables_.things->end() ? nullptr : existing_it->second.get();

  std::string policy_id;
  if (thing.policy_id) {
    policy_id = std::string(*thing.policy_id);
  } else if (existing != nullptr) {
    policy_id = existing->policy_id;
  } else {
    return ErrorResponse(
        400, "things:thing.notcreatable",
        "The Thing with ID " + Quote(id) + " could not be created as it names no policyId.",
        "Create the Policy first and specify it as 'policyId' in the Thing "
        "JSON (inline and implicit Policies are not supported).");
  }
  const StoredDittoPolicy* new_policy = FindDittoPolicy(policy_id);
  if (existing == nullptr) {
    if (new_policy == nullptr) {
      return ErrorResponse(400, "things:thing.notcreatable",
                           "The Thing with ID " + Quote(id) +
                               " could not be created as the Policy with ID " + Quote(policy_id) +
                               " is not existing.",
                           "Check if the ID of the Policy you created the Thing with is correct "
                           "and that the Policy is existing.");
    }
    if (!caller.admin && !CanWrite(&new_policy->compiled, caller, kThingRoot)) {
      return ThingNotModifiable(id, "created");
    }
  } else {
    if (!caller.admin) {
      const StoredDittoPolicy* current = FindDittoPolicy(existing->policy_id);
      const policy::CompiledDittoPolicy* compiled = current ? &current->compiled : nullptr;
      if (!CanSee(compiled, caller, kThingRoot)) return ThingNotFound(id);
      if (!CanWrite(compiled, caller, kThingRoot)) return ThingNotModifiable(id, "modified");
    }
    if (policy_id != existing->policy_id) {
      if (new_policy == nullptr) {
        return ErrorResponse(400, "policies:policy.notfound",
                             "The Thing with ID " + Quote(id) +
                                 " could not be modified as the Policy with ID " +
                                 Quote(policy_id) + " is not existing.",
                             "Check if the ID of the Policy is correct and that the Policy is "
                             "existing.");
      }
      if (!caller.admin && !CanWrite(&new_policy->compiled, caller, kThingRoot)) {
        return ThingNotModifiable(id, "moved to the Policy " + Quote(policy_id));
      }
    }
  }

  auto stored = std::make_shared<Thing>();
  stored->id = id;
  stored->policy_id = policy_id;
  stored->json = SerializeThing(id, policy_id, thing);
  if (Status status = plane_.store_->PutThing(id, stored->json); !status.ok()) {
    return InternalError(status);
  }
  const bool create = existing == nullptr;
  std::string response_body = create ? stored->json : std::string();
  auto table = std::make_shared<ThingTable>(*plane_.tables_.things);
  (*table)[id] = std::move(stored);
  plane_.tables_.things = std::move(table);
  plane_.Publish(/*initial=*/false);
  if (create) return MakeResponse(201, std::move(response_body));
  return NoContent();
}

std::unique_ptr<Response> ControlPlane::Api::GetThing(const Principal& caller,
                                                      const std::string& id) {
  const auto it = plane_.tables_.things->find(id);
  if (it == plane_.tables_.things->end()) return ThingNotFound(id);
  const Thing& thing = *it->second;
  if (!caller.admin) {
    const StoredDittoPolicy* policy = FindDittoPolicy(thing.policy_id);
    if (!CanRead(policy ? &policy->compiled : nullptr, caller, kThingRoot)) {
      return ThingNotFound(id);
    }
  }
  return MakeResponse(200, thing.json);
}

std::unique_ptr<Response> ControlPlane::Api::DeleteThing(const Principal& caller,
                                                         const std::string& id) {
  const auto it = plane_.tables_.things->find(id);
  if (it == plane_.tables_.things->end()) return ThingNotFound(id);
  if (!caller.admin) {
    const StoredDittoPolicy* policy = FindDittoPolicy(it->second->policy_id);
    const policy::CompiledDittoPolicy* compiled = policy ? &policy->compiled : nullptr;
    if (!CanSee(compiled, caller, kThingRoot)) return ThingNotFound(id);
    if (!CanWrite(compiled, caller, kThingRoot)) {
      return ErrorResponse(403, "things:thing.notdeletable",
                           "The Thing with ID " + Quote(id) +
                               " could not be deleted as the requester had insufficient "
                               "permissions ( 'WRITE' on root resource is required).",
                           CheckPermissionsDescription("Thing"));
    }
  }
  if (Status status = plane_.store_->DeleteThing(id); !status.ok()) return InternalError(status);
  auto table = std::make_shared<ThingTable>(*plane_.tables_.things);
  table->erase(id);
  plane_.tables_.things = std::move(table);
  plane_.Publish(/*initial=*/false);
  return NoContent();
}

// ---- ControlPlane --------------------------------------------------------------------

ControlPlane::ControlPlane(Options options)
    : options_(std::move(options)),
      iot_policies_(std::make_unique<StringMap<std::shared_ptr<const IotPolicy>>>()),
      queue_(std::make_unique<Queue>()),
      api_(std::make_unique<Api>(this)) {
  tables_.principals = std::make_shared<const PrincipalTable>();
  tables_.ditto_policies = std::make_shared<const DittoPolicyTable>();
  tables_.things = std::make_shared<const ThingTable>();
}

ControlPlane::~ControlPlane() {
  Stop();
  if (const SecuritySnapshot* current = current_.exchange(nullptr)) current->Release();
}

void ControlPlane::SetPublisher(std::function<void(const SecuritySnapshot*)> publish) {
  publish_ = std::move(publish);
}

void ControlPlane::SetResponder(std::function<void(std::unique_ptr<Response>)> respond) {
  respond_ = std::move(respond);
}

bool ControlPlane::Open(std::string* error) {
  if (store_) {
    *error = "the control plane is already open";
    return false;
  }
  std::unique_ptr<Store> store;
  if (Status status = Store::Open(options_.data_dir, &store); !status.ok()) {
    *error = status.message();
    return false;
  }

  auto iot_policies = std::make_unique<StringMap<std::shared_ptr<const IotPolicy>>>();
  std::vector<DocumentRecord> documents;
  if (Status status = store->LoadAllIotPolicies(&documents); !status.ok()) {
    *error = status.message();
    return false;
  }
  for (DocumentRecord& record : documents) {
    policy::Result<policy::IamPolicyDocument> parsed = policy::ParseIamPolicy(record.document);
    if (!parsed.ok()) {
      *error = "stored IoT policy " + Quote(record.key) + " is invalid: " + parsed.error().message;
      return false;
    }
    auto stored = std::make_shared<IotPolicy>();
    stored->document = std::move(record.document);
    stored->compiled = policy::CompiledIamDocument::CompileShared(parsed.value());
    (*iot_policies)[record.key] = std::move(stored);
  }
  iot_policies_ = std::move(iot_policies);

  std::vector<PrincipalRecord> principals;
  if (Status status = store->LoadAllPrincipals(&principals); !status.ok()) {
    *error = status.message();
    return false;
  }
  if (!options_.admin_password.empty()) {
    std::string hash = policy::HashPassword(options_.admin_password);
    if (hash.empty()) {
      *error = "cannot hash the admin password (libsodium failed)";
      return false;
    }
    auto admin = std::find_if(principals.begin(), principals.end(), [](const PrincipalRecord& r) {
      return r.name == kAdminPrincipalName;
    });
    if (admin == principals.end()) {
      principals.push_back(PrincipalRecord{std::string(kAdminPrincipalName), {}, {}, {}});
      admin = principals.end() - 1;
    }
    admin->password_hash = std::move(hash);
    if (Status status = store->PutPrincipal(*admin); !status.ok()) {
      *error = status.message();
      return false;
    }
  }
  auto principal_table = std::make_shared<PrincipalTable>();
  for (PrincipalRecord& record : principals) {
    for (const std::string& policy_name : record.iot_policies) {
      if (!iot_policies_->contains(policy_name)) {
        *error = "stored principal " + Quote(record.name) + " attaches the IoT policy " +
                 Quote(policy_name) + ", which does not exist";
        return false;
      }
    }
    std::string name = record.name;
    (*principal_table)[name] =
        api_->Rebuild(std::move(record.name), std::move(record.password_hash), record.subjects,
                      std::move(record.iot_policies));
  }

  auto policy_table = std::make_shared<DittoPolicyTable>();
  if (Status status = store->LoadAllDittoPolicies(&documents); !status.ok()) {
    *error = status.message();
    return false;
  }
  for (DocumentRecord& record : documents) {
    policy::Result<policy::DittoPolicyDocument> parsed = policy::ParseDittoPolicy(record.document);
    if (!parsed.ok()) {
      *error =
          "stored Ditto policy " + Quote(record.key) + " is invalid: " + parsed.error().message;
      return false;
    }
    auto stored = std::make_shared<StoredDittoPolicy>();
    stored->id = record.key;
    stored->compiled = policy::CompiledDittoPolicy::Compile(parsed.value());
    stored->document = std::move(record.document);
    (*policy_table)[record.key] = std::move(stored);
  }

  auto thing_table = std::make_shared<ThingTable>();
  if (Status status = store->LoadAllThings(&documents); !status.ok()) {
    *error = status.message();
    return false;
  }
  simdjson::dom::parser parser;
  for (DocumentRecord& record : documents) {
    simdjson::dom::object object;
    std::string_view policy_id;
    if (parser.parse(record.document.data(), record.document.size(), true).get(object) !=
            simdjson::SUCCESS ||
        object["policyId"].get(policy_id) != simdjson::SUCCESS) {
      *error = "stored Thing " + Quote(record.key) + " is not a JSON object with a policyId";
      return false;
    }
    auto thing = std::make_shared<Thing>();
    thing->id = record.key;
    thing->policy_id = std::string(policy_id);
    thing->json = std::move(record.document);
    (*thing_table)[record.key] = std::move(thing);
  }

  tables_.principals = std::move(principal_table);
  tables_.ditto_policies = std::move(policy_table);
  tables_.things = std::move(thing_table);
  tables_.anonymous = options_.anonymous ? BuildAnonymousPrincipal() : nullptr;
  store_ = std::move(store);
  Publish(/*initial=*/true);
  return true;
}

void ControlPlane::Publish(bool initial) {
  // Shards hold the first snapshot (handed out via Current()) and every published one.
  const bool reaches_shards = initial || static_cast<bool>(publish_);
  const auto shard_references = static_cast<uint32_t>(reaches_shards ? options_.shard_count : 0);
  const SecuritySnapshot* next =
      SecuritySnapshot::Create(++version_, tables_, shard_references + 1);
  const SecuritySnapshot* previous = current_.exchange(next, std::memory_order_acq_rel);
  if (!initial && publish_) publish_(next);
  if (previous != nullptr) previous->Release();  // the control plane's own reference
}

std::unique_ptr<ControlPlane::Response> ControlPlane::Handle(const Request& request) {
  std::unique_ptr<Response> response;
  if (!store_) {
    response = ErrorResponse(503, "service.unavailable", "The control plane is not open.");
  } else {
    try {
      response = api_->Handle(request);
    } catch (const std::exception& e) {
      // Allocation failure or a library throwing: answer rather than kill the thread.
      response = ErrorResponse(500, "internal.error",
                               std::string("The request could not be completed: ") + e.what());
    }
  }
  response->shard = request.shard;
  response->token = request.token;
  return response;
}

void ControlPlane::Submit(std::unique_ptr<Request> request) {
  if (request) queue_->items.enqueue(std::move(request));
}

void ControlPlane::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ControlPlane::Stop() {
  if (!thread_.joinable()) return;
  queue_->items.enqueue(nullptr);
  thread_.join();
}

void ControlPlane::Run() {
  const auto answer = [this](const Request& request) {
    std::unique_ptr<Response> response = Handle(request);
    if (respond_) respond_(std::move(response));
  };
  std::unique_ptr<Request> request;
  for (;;) {
    queue_->items.wait_dequeue(request);
    if (!request) break;
    answer(*request);
  }
  // Items from other producers may sit behind the sentinel: answer them too, so every
  // request submitted before Stop() gets its response.
  while (queue_->items.try_dequeue(request)) {
    if (request) answer(*request);
  }
}

}  // namespace sb::control
