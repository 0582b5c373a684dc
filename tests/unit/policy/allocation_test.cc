// Proves the hot-path contract: decisions allocate nothing. The test binary's global operator
// new counts the calling thread's allocations (tests/support/allocation_counter.h).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/compiled_iam_policies.h"
#include "policy/ditto_policy.h"
#include "policy/iam_policy.h"
#include "tests/support/allocation_counter.h"

namespace sb::policy {
namespace {

TEST(Allocation, CountingOperatorNewIsActive) {
  const testing::AllocationScope scope;
  // Must be seen, or the zeros below prove nothing; through a volatile pointer, so that the
  // compiler may not elide the allocation.
  std::string* volatile probe = new std::string(100, 'x');
  delete probe;
  EXPECT_GE(scope.allocations(), 1u);
}

TEST(Allocation, IamDecisionsAllocateNothing) {
  std::vector<IamPolicyDocument> documents;
  for (std::string_view json : {
           R"({"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"client/${iot:ClientId}"},
              {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"topic/dev/+/cmd/*"},
              {"Effect":"Allow","Action":"iot:Subscribe","Resource":"topicfilter/dev/?/#"},
              {"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/*",
               "Condition":{"StringLike":{"iot:Topic":"cmd/*"},"StringNotEquals":{"iot:ClientId":"x"}}}]})",
           R"({"Statement":[{"Effect":"Deny","Action":"iot:*","Resource":"topic/secret/*"}]})"}) {
    Result<IamPolicyDocument> parsed = ParseIamPolicy(json);
    ASSERT_TRUE(parsed.ok());
    documents.push_back(std::move(parsed).value());
  }
  const CompiledIamPolicies compiled = CompiledIamPolicies::Compile(documents);
  const IamRequest requests[] = {
      {IotAction::kConnect, "client/dev1", "dev1", "", std::nullopt},
      {IotAction::kPublish, "topic/dev/+/cmd/reboot", "dev1", "", std::nullopt},
      {IotAction::kReceive, "topic/secret/x", "dev1", "", std::nullopt},
      {IotAction::kSubscribe, "topicfilter/dev/a/#", "dev1", "", std::nullopt},
      {IotAction::kSendDirectMessage, "client/dev2", "dev1", "", "cmd/update"},
      {IotAction::kSendDirectMessage, "client/dev2", "dev1", "", std::nullopt},
  };
  int allowed = 0;
  const testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    for (const IamRequest& request : requests) allowed += compiled.IsAllowed(request) ? 1 : 0;
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(allowed, 100 * 4);
}

TEST(Allocation, IamDecisionsOverSharedDocumentsAllocateNothing) {
  std::vector<std::shared_ptr<const CompiledIamDocument>> documents;
  for (std::string_view json : {
           R"({"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"client/${iot:ClientId}"}]})",
           R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/dev/*"}]})",
           R"({"Statement":[{"Effect":"Deny","Action":"iot:*","Resource":"topic/dev/secret"}]})",
           R"({"Statement":[{"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/*",
              "Condition":{"StringLike":{"iot:Topic":"cmd/*"}}}]})"}) {  // 4: one spills
    Result<IamPolicyDocument> parsed = ParseIamPolicy(json);
    ASSERT_TRUE(parsed.ok());
    documents.push_back(CompiledIamDocument::CompileShared(parsed.value()));
  }
  const CompiledIamPolicies compiled = CompiledIamPolicies::FromShared(documents);
  const IamRequest requests[] = {
      {IotAction::kConnect, "client/dev1", "dev1", "", std::nullopt},
      {IotAction::kPublish, "topic/dev/x", "dev1", "", std::nullopt},
      {IotAction::kPublish, "topic/dev/secret", "dev1", "", std::nullopt},
      {IotAction::kSendDirectMessage, "client/dev2", "dev1", "", "cmd/update"},
      {IotAction::kSubscribe, "topicfilter/dev/#", "dev1", "", std::nullopt},
  };
  int allowed = 0;
  const testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    for (const IamRequest& request : requests) allowed += compiled.IsAllowed(request) ? 1 : 0;
    allowed += documents[1]->Decide(requests[1]) == Decision::kAllow ? 1 : 0;
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(allowed, 100 * 4);
}

TEST(Allocation, DittoDecisionsAllocateNothing) {
  Result<DittoPolicyDocument> parsed = ParseDittoPolicy(R"({"entries":{
    "owner":{"subjects":{"basic:alice":{"type":"password"},"basic:bob":{"type":"password"}},
      "resources":{"message:/":{"grant":["READ","WRITE"],"revoke":[]},
                   "message:/features/secret":{"grant":[],"revoke":["READ"]}}}}})");
  ASSERT_TRUE(parsed.ok());
  const CompiledDittoPolicy policy = CompiledDittoPolicy::Compile(parsed.value());
  const std::string_view subjects[] = {"basic:alice", "basic:bob", "basic:nobody"};
  std::size_t granted = 0;
  std::size_t readers = 0;
  const testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    granted += policy.HasPermissions(subjects, "message:/inbox/messages/hello", kReadPermission,
                                     DittoCheckMode::kUnrestricted);
    granted += policy.HasPermissions(subjects, "message:/features/secret/inbox/messages/x",
                                     kReadPermission | kWritePermission,
                                     DittoCheckMode::kPartial);
    policy.ForEachSubjectWithPermission("message:/outbox/messages/x", DittoPermission::kRead,
                                        [&](std::string_view) { ++readers; });
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(granted, 100u);
  EXPECT_EQ(readers, 200u);
}

}  // namespace
}  // namespace sb::policy
