// Fuzzes IAM-style policy parsing, compilation and decisions (policy/iam_policy.h,
// policy/compiled_iam_policies.h). Input: a policy document, then optionally a NUL byte and
// NUL-separated request fields: action byte, resource, client ID, thing name, topic.
// Properties checked beyond "no crash": a document without Allow statements never allows,
// and decisions are deterministic.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "policy/compiled_iam_policies.h"
#include "policy/iam_policy.h"

namespace {

std::string_view NextField(std::string_view* rest) {
  const std::size_t nul = rest->find('\0');
  const std::string_view field = rest->substr(0, nul);
  rest->remove_prefix(nul == std::string_view::npos ? rest->size() : nul + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sb::policy;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view json = NextField(&rest);
  Result<IamPolicyDocument> parsed = ParseIamPolicy(json);
  if (!parsed.ok()) {
    if (parsed.error().message.empty()) __builtin_trap();  // every error must say why
    return 0;
  }
  bool has_allow = false;
  for (const IamStatement& statement : parsed.value().statements) {
    has_allow = has_allow || statement.effect == IamEffect::kAllow;
  }
  const std::vector<IamPolicyDocument> documents{std::move(parsed).value()};
  const CompiledIamPolicies compiled = CompiledIamPolicies::Compile(documents);

  const std::string_view action_field = NextField(&rest);
  IamRequest request;
  request.action = static_cast<IotAction>(
      action_field.empty() ? 0 : static_cast<unsigned char>(action_field[0]) % kIotActionCount);
  request.resource = NextField(&rest);
  request.client_id = NextField(&rest);
  request.thing_name = NextField(&rest);
  if (!rest.empty()) request.topic = NextField(&rest);

  std::vector<IamRequest> requests{request};
  for (std::size_t a = 0; a < kIotActionCount; ++a) {
    IamRequest fixed;
    fixed.action = static_cast<IotAction>(a);
    fixed.client_id = "dev1";
    fixed.thing_name = "thing1";
    fixed.topic = "cmd/reboot";
    for (std::string_view resource : {"client/dev1", "topic/dev1/x/y", "topicfilter/a/+/#", ""}) {
      fixed.resource = resource;
      requests.push_back(fixed);
    }
  }
  for (const IamRequest& r : requests) {
    const Decision decision = compiled.Decide(r);
    if (!has_allow && decision == Decision::kAllow) __builtin_trap();
    if (compiled.Decide(r) != decision) __builtin_trap();
  }
  return 0;
}
