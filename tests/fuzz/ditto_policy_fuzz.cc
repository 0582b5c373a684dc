// Fuzzes Ditto policy parsing, compilation and checks (policy/ditto_policy.h,
// policy/compiled_ditto_policy.h). Input: a policy JSON, then optionally a NUL byte, a
// resource key, another NUL byte and newline-separated caller subjects.
// Properties checked beyond "no crash": unrestricted implies partial, and for one subject
// the precomputed fan-out list agrees with the pooled check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/ditto_policy.h"

namespace {

std::string_view NextField(std::string_view* rest, char separator) {
  const std::size_t at = rest->find(separator);
  const std::string_view field = rest->substr(0, at);
  rest->remove_prefix(at == std::string_view::npos ? rest->size() : at + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sb::policy;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view json = NextField(&rest, '\0');
  const Result<DittoPolicyDocument> parsed = ParseDittoPolicy(json);
  if (!parsed.ok()) {
    if (parsed.error().code.empty() || parsed.error().message.empty()) __builtin_trap();
    return 0;
  }
  const CompiledDittoPolicy policy = CompiledDittoPolicy::Compile(parsed.value());

  std::vector<std::string_view> resources = {NextField(&rest, '\0'), "thing:/", "message:/",
                                             "message:/inbox/messages/a", "policy:/x/y"};
  std::vector<std::string_view> subjects;
  while (!rest.empty() && subjects.size() < 64) subjects.push_back(NextField(&rest, '\n'));
  // Also ask as every subject the policy names, one at a time.
  for (const DittoPolicyEntry& entry : parsed.value().entries) {
    for (const DittoSubject& subject : entry.subjects) {
      if (subjects.size() < 80) subjects.push_back(subject.id);
    }
  }
  for (const std::string_view resource : resources) {
    for (DittoPermissionSet permissions = 1; permissions <= 3; ++permissions) {
      const bool unrestricted =
          policy.HasPermissions(subjects, resource, permissions, DittoCheckMode::kUnrestricted);
      const bool partial =
          policy.HasPermissions(subjects, resource, permissions, DittoCheckMode::kPartial);
      if (unrestricted && !partial) __builtin_trap();
    }
    for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
      const auto permission = static_cast<DittoPermission>(p);
      const auto listed = policy.SubjectsWithPermission(resource, permission);
      for (const std::string_view subject : subjects) {
        const std::string_view one[] = {subject};
        const bool alone = policy.HasPermissions(one, resource, PermissionBit(permission),
                                                 DittoCheckMode::kUnrestricted);
        const std::optional<std::uint32_t> id = policy.FindSubject(subject);
        const bool in_list =
            id && std::find(listed.begin(), listed.end(), *id) != listed.end();
        if (alone != in_list) __builtin_trap();
      }
    }
  }
  return 0;
}
