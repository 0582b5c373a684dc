// `sbctl policy check`, `sbctl iot-policy check` and `sbctl hash-password` (SPEC 8): thin
// command-line wrappers over the policy library. stdout carries only the result
// (`allow`/`deny`, or the stored password form); usage and parse errors go to stderr with
// exit code 2.
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/compiled_iam_policies.h"
#include "policy/ditto_policy.h"
#include "policy/iam_policy.h"
#include "policy/password.h"
#include "tools/sbctl/commands.h"

namespace sb::sbctl {
namespace {

constexpr int kExitUsage = 2;
// Policy files are small; anything larger is refused before the parser sees it.
constexpr std::size_t kMaxPolicyFileBytes = 1024 * 1024;

constexpr std::string_view kPolicyUsage =
    "usage: sbctl policy check --policy FILE --subject S [--subject S2 ...] --resource R\n"
    "                          --permission READ|WRITE [--permission ...] [--partial]\n"
    "  Evaluates a Ditto policy; prints allow or deny. Default mode is unrestricted.\n";
constexpr std::string_view kIotPolicyUsage =
    "usage: sbctl iot-policy check --policy FILE [--policy FILE2 ...] --action A --resource R\n"
    "                              [--var iot:ClientId=x] [--var iot:Topic=y]\n"
    "                              [--var iot:Connection.Thing.ThingName=z] [--explain]\n"
    "  Evaluates IAM-style policies attached to one principal; prints allow or deny.\n"
    "  R is <type>/<name> (client/dev1, topic/a/b, topicfilter/a/+) or a full ARN.\n";
constexpr std::string_view kHashPasswordUsage =
    "usage: sbctl hash-password < password-line\n"
    "  Reads one line from stdin, prints its stored (argon2id) form.\n";

int UsageError(std::string_view usage, const std::string& message) {
  if (!message.empty()) std::cerr << "sbctl: " << message << "\n";
  std::cerr << usage;
  return kExitUsage;
}

// Command-line flags as (name, value) pairs; accepts `--name value` and `--name=value`.
struct Flag {
  std::string name;
  std::string value;
};

// Parses argv into flags. `switches` are flags without a value. Returns an error message
// or an empty string.
std::string ParseFlags(int argc, char** argv, const std::vector<std::string_view>& with_value,
                       const std::vector<std::string_view>& switches, std::vector<Flag>* out) {
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) return "unexpected argument '" + std::string(arg) + "'";
    std::string name(arg.substr(2));
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    bool known_switch = false;
    for (std::string_view s : switches) known_switch = known_switch || s == name;
    bool known_valued = false;
    for (std::string_view v : with_value) known_valued = known_valued || v == name;
    if (known_switch) {
      if (value) return "--" + name + " takes no value";
      out->push_back({name, ""});
      continue;
    }
    if (!known_valued) return "unknown flag --" + name;
    if (!value) {
      if (i + 1 >= argc) return "--" + name + " needs a value";
      value = argv[++i];
    }
    out->push_back({name, *value});
  }
  return {};
}

std::vector<std::string> Values(const std::vector<Flag>& flags, std::string_view name) {
  std::vector<std::string> values;
  for (const Flag& flag : flags) {
    if (flag.name == name) values.push_back(flag.value);
  }
  return values;
}

bool ReadFile(const std::string& path, std::string* contents, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  contents->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = "cannot read " + path;
    return false;
  }
  if (contents->size() > kMaxPolicyFileBytes) {
    *error = path + " is larger than " + std::to_string(kMaxPolicyFileBytes) + " bytes";
    return false;
  }
  return true;
}

// `arn:aws:iot:<region>:<account>:<type>/<name>` -> `<type>/<name>`; short forms unchanged.
std::optional<std::string_view> ShortResource(std::string_view resource) {
  if (!resource.starts_with("arn:")) return resource;
  std::string_view rest = resource;
  for (int part = 0; part < 5; ++part) {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    if (part == 2 && rest.substr(0, colon) != "iot") return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
  return rest;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

int PolicyCommand(int argc, char** argv) {
  if (argc < 1 || std::string_view(argv[0]) != "check") {
    return UsageError(kPolicyUsage, argc < 1 ? "" : "unknown subcommand '" + std::string(argv[0]) + "'");
  }
  std::vector<Flag> flags;
  if (std::string error = ParseFlags(argc - 1, argv + 1,
                                     {"policy", "subject", "resource", "permission"},
                                     {"partial"}, &flags);
      !error.empty()) {
    return UsageError(kPolicyUsage, error);
  }
  const std::vector<std::string> policy_files = Values(flags, "policy");
  const std::vector<std::string> subjects = Values(flags, "subject");
  const std::vector<std::string> resources = Values(flags, "resource");
  const std::vector<std::string> permission_names = Values(flags, "permission");
  if (policy_files.size() != 1) return UsageError(kPolicyUsage, "give exactly one --policy");
  if (subjects.empty()) return UsageError(kPolicyUsage, "give at least one --subject");
  if (resources.size() != 1) return UsageError(kPolicyUsage, "give exactly one --resource");
  if (permission_names.empty()) return UsageError(kPolicyUsage, "give --permission READ|WRITE");

  policy::DittoPermissionSet permissions = 0;
  for (const std::string& list : permission_names) {
    // Accept both repeated flags and a comma-separated list ("READ,WRITE").
    std::stringstream items(list);
    std::string item;
    while (std::getline(items, item, ',')) {
      const std::optional<policy::DittoPermission> permission = policy::ParseDittoPermission(item);
      if (!permission) {
        return UsageError(kPolicyUsage, "unknown permission '" + item + "' (READ or WRITE)");
      }
      permissions |= policy::PermissionBit(*permission);
    }
  }
  if (permissions == 0) return UsageError(kPolicyUsage, "give --permission READ|WRITE");
  if (!policy::ParseDittoResourceKey(resources[0])) {
    return UsageError(kPolicyUsage, "invalid resource '" + resources[0] +
                                        "' (expected thing:/path, policy:/path or message:/path)");
  }

  std::string json;
  std::string error;
  if (!ReadFile(policy_files[0], &json, &error)) {
    std::cerr << "sbctl: " << error << "\n";
    return kExitUsage;
  }
  const policy::Result<policy::DittoPolicyDocument> document = policy::ParseDittoPolicy(json);
  if (!document.ok()) {
    std::cerr << "sbctl: " << policy_files[0] << ": " << document.error().code << ": "
              << document.error().message << "\n";
    return kExitUsage;
  }
  const policy::CompiledDittoPolicy compiled = policy::CompiledDittoPolicy::Compile(document.value());
  const std::vector<std::string_view> subject_views(subjects.begin(), subjects.end());
  const bool partial = !Values(flags, "partial").empty();
  const bool allowed = compiled.HasPermissions(
      subject_views, resources[0], permissions,
      partial ? policy::DittoCheckMode::kPartial : policy::DittoCheckMode::kUnrestricted);
  std::cout << (allowed ? "allow" : "deny") << "\n";
  return 0;
}

int IotPolicyCommand(int argc, char** argv) {
  if (argc < 1 || std::string_view(argv[0]) != "check") {
    return UsageError(kIotPolicyUsage,
                      argc < 1 ? "" : "unknown subcommand '" + std::string(argv[0]) + "'");
  }
  std::vector<Flag> flags;
  if (std::string error = ParseFlags(argc - 1, argv + 1, {"policy", "action", "resource", "var"},
                                     {"explain"}, &flags);
      !error.empty()) {
    return UsageError(kIotPolicyUsage, error);
  }
  const std::vector<std::string> policy_files = Values(flags, "policy");
  const std::vector<std::string> actions = Values(flags, "action");
  const std::vector<std::string> resources = Values(flags, "resource");
  if (policy_files.empty()) return UsageError(kIotPolicyUsage, "give at least one --policy");
  if (actions.size() != 1) return UsageError(kIotPolicyUsage, "give exactly one --action");
  if (resources.size() != 1) return UsageError(kIotPolicyUsage, "give exactly one --resource");

  const std::optional<policy::IotAction> action = policy::ParseIotAction(actions[0]);
  if (!action) {
    return UsageError(kIotPolicyUsage,
                      "unknown action '" + actions[0] +
                          "' (iot:Connect, iot:Publish, iot:Receive, iot:Subscribe, "
                          "iot:SendDirectMessage)");
  }
  const std::optional<std::string_view> resource = ShortResource(resources[0]);
  if (!resource || resource->empty()) {
    return UsageError(kIotPolicyUsage, "invalid resource '" + resources[0] + "'");
  }

  policy::IamRequest request;
  request.action = *action;
  request.resource = *resource;
  std::vector<std::string> variables = Values(flags, "var");
  for (const std::string& variable : variables) {
    const std::size_t eq = variable.find('=');
    if (eq == std::string::npos) {
      return UsageError(kIotPolicyUsage, "--var needs NAME=VALUE, got '" + variable + "'");
    }
    const std::string_view name = std::string_view(variable).substr(0, eq);
    const std::string_view value = std::string_view(variable).substr(eq + 1);
    if (EqualsIgnoreCase(name, "iot:ClientId")) {
      request.client_id = value;
    } else if (EqualsIgnoreCase(name, "iot:Topic")) {
      request.topic = value;
    } else if (EqualsIgnoreCase(name, "iot:Connection.Thing.ThingName")) {
      request.thing_name = value;
    } else {
      return UsageError(kIotPolicyUsage,
                        "unknown variable '" + std::string(name) +
                            "' (iot:ClientId, iot:Topic, iot:Connection.Thing.ThingName)");
    }
  }

  std::vector<policy::IamPolicyDocument> documents;
  for (const std::string& file : policy_files) {
    std::string json;
    std::string error;
    if (!ReadFile(file, &json, &error)) {
      std::cerr << "sbctl: " << error << "\n";
      return kExitUsage;
    }
    policy::Result<policy::IamPolicyDocument> document = policy::ParseIamPolicy(json);
    if (!document.ok()) {
      std::cerr << "sbctl: " << file << ": " << document.error().message << "\n";
      return kExitUsage;
    }
    documents.push_back(std::move(document).value());
  }
  const policy::CompiledIamPolicies compiled = policy::CompiledIamPolicies::Compile(documents);
  const policy::Decision decision = compiled.Decide(request);
  if (!Values(flags, "explain").empty()) {
    std::cerr << policy::DecisionName(decision) << "\n";
  }
  std::cout << (decision == policy::Decision::kAllow ? "allow" : "deny") << "\n";
  return 0;
}

int HashPasswordCommand(int argc, char** argv) {
  if (argc != 0) return UsageError(kHashPasswordUsage, "hash-password takes no arguments");
  std::string password;
  if (!std::getline(std::cin, password) && password.empty()) {
    return UsageError(kHashPasswordUsage, "no password on stdin");
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return UsageError(kHashPasswordUsage, "the password is empty");
  const std::string stored = policy::HashPassword(password);
  if (stored.empty()) {
    std::cerr << "sbctl: hashing failed (libsodium could not initialise or allocate)\n";
    return 1;
  }
  std::cout << stored << "\n";
  return 0;
}

}  // namespace sb::sbctl
