// Runs every case of the shared conformance vectors against the policy library:
// iot-policy.json (IAM-style) and ditto-policy.json (Ditto). A missing or empty file is a
// failure, never a skip. See /work/shared/conformance/README.md for the case formats.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/compiled_iam_policies.h"
#include "policy/ditto_policy.h"
#include "policy/iam_policy.h"
#include "tests/support/conformance_cases.h"

namespace sb::policy {
namespace {


std::string_view StringField(simdjson::dom::element element, const char* key) {
  std::string_view value;
  EXPECT_EQ(element[key].get(value), simdjson::SUCCESS) << "missing string field " << key;
  return value;
}

TEST(IotPolicyConformance, EveryCase) {
  simdjson::dom::parser parser;
  simdjson::dom::array cases;
  ASSERT_TRUE(testing::LoadConformanceCases(parser, "iot-policy.json", &cases));

  std::size_t run = 0;
  for (simdjson::dom::element test_case : cases) {
    const std::string id(StringField(test_case, "id"));
    SCOPED_TRACE("case " + id);

    simdjson::dom::array policies;
    ASSERT_EQ(test_case["policies"].get(policies), simdjson::SUCCESS);
    std::vector<IamPolicyDocument> documents;
    for (simdjson::dom::element policy : policies) {
      Result<IamPolicyDocument> parsed = ParseIamPolicy(simdjson::to_string(policy));
      ASSERT_TRUE(parsed.ok()) << parsed.error().message;
      documents.push_back(std::move(parsed).value());
    }
    const CompiledIamPolicies compiled = CompiledIamPolicies::Compile(documents);
    // The server's shape: each document compiled once and shared, pooled per principal.
    std::vector<std::shared_ptr<const CompiledIamDocument>> shared;
    for (const IamPolicyDocument& document : documents) {
      shared.push_back(CompiledIamDocument::CompileShared(document));
    }
    const CompiledIamPolicies pooled = CompiledIamPolicies::FromShared(std::move(shared));

    const std::optional<IotAction> action = ParseIotAction(StringField(test_case, "action"));
    ASSERT_TRUE(action.has_value());
    IamRequest request;
    request.action = *action;
    request.resource = StringField(test_case, "resource");
    simdjson::dom::object context;
    ASSERT_EQ(test_case["context"].get(context), simdjson::SUCCESS);
    for (auto [key, value] : context) {
      std::string_view text;
      ASSERT_EQ(value.get(text), simdjson::SUCCESS) << "context." << key;
      if (key == "clientId") {
        request.client_id = text;
      } else if (key == "thingName") {
        request.thing_name = text;
      } else if (key == "iot:Topic") {
        request.topic = text;
      } else {
        FAIL() << "unknown context key " << key;
      }
    }
    bool expected = false;
    ASSERT_EQ(test_case["expected"].get(expected), simdjson::SUCCESS);
    const Decision decision = compiled.Decide(request);
    EXPECT_EQ(decision == Decision::kAllow, expected)
        << "decision " << DecisionName(decision) << " for " << IotActionName(*action) << " on "
        << request.resource;
    EXPECT_EQ(pooled.Decide(request), decision) << "shared documents decide differently";
    ++run;
  }
  EXPECT_EQ(run, cases.size());
}

TEST(DittoPolicyConformance, EveryCase) {
  simdjson::dom::parser parser;
  simdjson::dom::array cases;
  ASSERT_TRUE(testing::LoadConformanceCases(parser, "ditto-policy.json", &cases));

  std::size_t run = 0;
  for (simdjson::dom::element test_case : cases) {
    const std::string id(StringField(test_case, "id"));
    SCOPED_TRACE("case " + id);

    simdjson::dom::element policy;
    ASSERT_EQ(test_case["policy"].get(policy), simdjson::SUCCESS);
    Result<DittoPolicyDocument> parsed = ParseDittoPolicy(simdjson::to_string(policy));
    ASSERT_TRUE(parsed.ok()) << parsed.error().code << ": " << parsed.error().message;
    const CompiledDittoPolicy compiled = CompiledDittoPolicy::Compile(parsed.value());

    std::vector<std::string_view> subjects;
    simdjson::dom::array subject_list;
    ASSERT_EQ(test_case["subjects"].get(subject_list), simdjson::SUCCESS);
    for (simdjson::dom::element subject : subject_list) {
      std::string_view text;
      ASSERT_EQ(subject.get(text), simdjson::SUCCESS);
      subjects.push_back(text);
    }
    DittoPermissionSet permissions = 0;
    simdjson::dom::array permission_list;
    ASSERT_EQ(test_case["permissions"].get(permission_list), simdjson::SUCCESS);
    for (simdjson::dom::element permission : permission_list) {
      std::string_view text;
      ASSERT_EQ(permission.get(text), simdjson::SUCCESS);
      const std::optional<DittoPermission> parsed_permission = ParseDittoPermission(text);
      ASSERT_TRUE(parsed_permission.has_value()) << text;
      permissions |= PermissionBit(*parsed_permission);
    }
    const std::string_view mode_name = StringField(test_case, "mode");
    ASSERT_TRUE(mode_name == "unrestricted" || mode_name == "partial") << mode_name;
    const DittoCheckMode mode =
        mode_name == "partial" ? DittoCheckMode::kPartial : DittoCheckMode::kUnrestricted;
    const std::string_view resource = StringField(test_case, "resource");
    bool expected = false;
    ASSERT_EQ(test_case["expected"].get(expected), simdjson::SUCCESS);

    EXPECT_EQ(compiled.HasPermissions(subjects, resource, permissions, mode), expected)
        << mode_name << " check on " << resource;

    // The precomputed per-subject answer (live-message fan-out) must agree with the pooled
    // check whenever the caller has a single subject.
    if (mode == DittoCheckMode::kUnrestricted && subjects.size() == 1) {
      bool all_listed = true;
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        if ((permissions & (1u << p)) == 0) continue;
        const auto listed = compiled.SubjectsWithPermission(resource, static_cast<DittoPermission>(p));
        const std::optional<std::uint32_t> subject_id = compiled.FindSubject(subjects[0]);
        all_listed = all_listed && subject_id &&
                     std::find(listed.begin(), listed.end(), *subject_id) != listed.end();
      }
      EXPECT_EQ(all_listed, expected) << "SubjectsWithPermission on " << resource;
    }
    ++run;
  }
  EXPECT_EQ(run, cases.size());
}

}  // namespace
}  // namespace sb::policy
