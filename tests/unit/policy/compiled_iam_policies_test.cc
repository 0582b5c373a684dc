#include "policy/compiled_iam_policies.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "policy/iam_policy.h"

namespace sb::policy {
namespace {

IamPolicyDocument Parse(std::string_view json) {
  Result<IamPolicyDocument> result = ParseIamPolicy(json);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? std::move(result).value() : IamPolicyDocument{};
}

CompiledIamPolicies CompileJson(std::initializer_list<std::string_view> documents) {
  std::vector<IamPolicyDocument> parsed;
  for (std::string_view json : documents) parsed.push_back(Parse(json));
  return CompiledIamPolicies::Compile(parsed);
}

IamRequest Request(IotAction action, std::string_view resource, std::string_view client_id = "c",
                   std::optional<std::string_view> topic = std::nullopt,
                   std::string_view thing_name = {}) {
  IamRequest request;
  request.action = action;
  request.resource = resource;
  request.client_id = client_id;
  request.thing_name = thing_name;
  request.topic = topic;
  return request;
}

TEST(CompiledIamPolicies, EmptySetDeniesByDefault) {
  const CompiledIamPolicies empty;
  EXPECT_EQ(empty.Decide(Request(IotAction::kConnect, "client/c")), Decision::kDefaultDeny);
  EXPECT_EQ(IamPoliciesView().Decide(Request(IotAction::kConnect, "client/c")),
            Decision::kDefaultDeny);
  EXPECT_EQ(empty.view().Decide(Request(IotAction::kConnect, "client/c")),
            Decision::kDefaultDeny);
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, TypicalDevicePolicy) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:*:*:client/${iot:ClientId}"},
    {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],
     "Resource":"arn:aws:iot:*:*:topic/dev/${iot:ClientId}/*"},
    {"Effect":"Allow","Action":"iot:Subscribe",
     "Resource":"arn:aws:iot:*:*:topicfilter/dev/${iot:ClientId}/#"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/d1", "d1")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/d2", "d1")),
            Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/dev/d1/telemetry", "d1")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic/dev/d1/a/b/c", "d1")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/dev/d2/telemetry", "d1")),
            Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSubscribe, "topicfilter/dev/d1/#", "d1")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSubscribe, "topicfilter/dev/d1/x", "d1")),
            Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSendDirectMessage, "client/d1", "d1")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, ExplicitDenyBeatsAllowAcrossDocuments) {
  const CompiledIamPolicies compiled = CompileJson(
      {R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})",
       R"({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/secret/*"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/secret/x")),
            Decision::kExplicitDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic/secret/x")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/public")), Decision::kAllow);
}

TEST(CompiledIamPolicies, ActionWildcardsAreCaseInsensitiveAndUnknownActionsIgnored) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[
    {"Effect":"Allow","Action":"IOT:send*","Resource":"client/*"},
    {"Effect":"Allow","Action":["iot:UpdateThingShadow","iot:?ublish"],"Resource":"topic/*"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSendDirectMessage, "client/x")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/x")), Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/x")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic/x")), Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, ThingNameVariableNeedsAThing) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[{"Effect":"Allow",
    "Action":"iot:Receive","Resource":"topic/${iot:Connection.Thing.ThingName}/room*"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic/t1/room1", "c", {}, "t1")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic/t2/room1", "c", {}, "t1")),
            Decision::kDefaultDeny);
  // No Thing attached: the variable is unavailable and the statement never applies.
  EXPECT_EQ(compiled.Decide(Request(IotAction::kReceive, "topic//room1", "c", {}, "")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, DenyWithUnavailableVariableDoesNotApply) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[
    {"Effect":"Allow","Action":"iot:Publish","Resource":"*"},
    {"Effect":"Deny","Action":"iot:Publish","Resource":"topic/${iot:Connection.Thing.ThingName}"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/t1", "c", {}, "t1")),
            Decision::kExplicitDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/t1", "c", {}, "")),
            Decision::kAllow);
}

TEST(CompiledIamPolicies, ConditionsOnDirectMessages) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[
    {"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/*",
     "Condition":{"StringLike":{"iot:Topic":"cmd/*"},"StringNotEquals":{"iot:Topic":"cmd/wipe"}}},
    {"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/${iot:ClientId}-peer",
     "Condition":{"StringEquals":{"iot:Topic":"${iot:ClientId}/hello"}}},
    {"Effect":"Deny","Action":"iot:SendDirectMessage","Resource":"client/*",
     "Condition":{"StringNotLike":{"iot:Topic":["cmd/*","*/hello"]}}}]})"});
  const auto send = [&](std::string_view target, std::optional<std::string_view> topic) {
    return compiled.Decide(Request(IotAction::kSendDirectMessage, target, "me", topic));
  };
  EXPECT_EQ(send("client/d1", "cmd/reboot"), Decision::kAllow);
  EXPECT_EQ(send("client/d1", "cmd/wipe"), Decision::kDefaultDeny);
  EXPECT_EQ(send("client/d1", "other"), Decision::kExplicitDeny);
  EXPECT_EQ(send("client/me-peer", "me/hello"), Decision::kAllow);
  EXPECT_EQ(send("client/me-peer", "you/hello"), Decision::kDefaultDeny);
  // iot:Topic absent: positive operators fail, the negated Deny applies (IAM semantics).
  EXPECT_EQ(send("client/d1", std::nullopt), Decision::kExplicitDeny);
}

TEST(CompiledIamPolicies, ClientIdConditionKey) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[{"Effect":"Allow",
    "Action":"iot:Connect","Resource":"client/*",
    "Condition":{"StringLike":{"iot:ClientId":"sensor-??"}}}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/sensor-01", "sensor-01")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/sensor-001", "sensor-001")),
            Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kConnect, "client/x", "")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, BranchesAcrossLiteralQuestionAndVariableEdges) {
  // At "topic/" the walk can take a literal edge, a `?` edge or a variable edge; only the
  // last pattern matches, so every branch must be tried.
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[
    {"Effect":"Allow","Action":"iot:Publish","Resource":"topic/ab/x"},
    {"Effect":"Allow","Action":"iot:Publish","Resource":"topic/?b/y"},
    {"Effect":"Allow","Action":"iot:Publish","Resource":"topic/${iot:ClientId}/z"}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/ab/z", "ab")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/ab/y", "zz")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/ab/z", "zz")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, ConditionOfFirstMatchingStatementFailingDoesNotHideOthers) {
  const CompiledIamPolicies compiled = CompileJson({R"({"Statement":[
    {"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/*",
     "Condition":{"StringEquals":{"iot:Topic":"a"}}},
    {"Effect":"Allow","Action":"iot:SendDirectMessage","Resource":"client/*",
     "Condition":{"StringEquals":{"iot:Topic":"b"}}}]})"});
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSendDirectMessage, "client/x", "c", "b")),
            Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kSendDirectMessage, "client/x", "c", "c")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, OverlongResourceIsDeniedWithoutLooking) {
  const CompiledIamPolicies compiled =
      CompileJson({R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})"});
  const std::string resource = "topic/" + std::string(CompiledIamPolicies::kMaxResourceBytes, 'a');
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, resource)), Decision::kDefaultDeny);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kAllow);
}

TEST(CompiledIamPolicies, MovedFromObjectDeniesEverything) {
  CompiledIamPolicies compiled =
      CompileJson({R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})"});
  CompiledIamPolicies moved = std::move(compiled);
  EXPECT_EQ(moved.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kAllow);
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/a")),  // NOLINT(use-after-move)
            Decision::kDefaultDeny);
  EXPECT_GT(moved.MemoryBytes(), 0u);
}

TEST(CompiledIamPolicies, DocumentsMayBeDroppedAfterCompilation) {
  CompiledIamPolicies compiled;
  {
    std::vector<IamPolicyDocument> documents;
    documents.push_back(
        Parse(R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/x*"}]})"));
    compiled = CompiledIamPolicies::Compile(documents);
  }
  EXPECT_EQ(compiled.Decide(Request(IotAction::kPublish, "topic/xyz")), Decision::kAllow);
}

// ---------------------------------------------------------------------------------------
// Shared documents: each compiled once, pooled per principal.

// A set skips, unread, the documents whose patterns cannot match a resource of the action's
// own type (client/ for Connect, topic/ for Publish...). The skip must never change a
// decision: not for patterns that reach the type through `?` or a variable, and not for
// requests whose resource is of another type (sbctl may ask anything).
TEST(CompiledIamPolicies, SkippingDocumentsOfOtherResourceTypesChangesNoDecision) {
  const CompiledIamPolicies topic_only = CompileJson(
      {R"({"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"topic/*"}})"});
  EXPECT_EQ(topic_only.Decide(Request(IotAction::kConnect, "client/x")), Decision::kDefaultDeny);
  EXPECT_EQ(topic_only.Decide(Request(IotAction::kConnect, "topic/x")), Decision::kAllow);

  const CompiledIamPolicies question = CompileJson(
      {R"({"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"?lient/*"}})"});
  EXPECT_EQ(question.Decide(Request(IotAction::kConnect, "client/x")), Decision::kAllow);

  const CompiledIamPolicies variable = CompileJson(
      {R"({"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"${iot:ClientId}"}})"});
  EXPECT_EQ(variable.Decide(Request(IotAction::kConnect, "client/x", "client/x")),
            Decision::kAllow);

  const CompiledIamPolicies shorter = CompileJson(
      {R"({"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"clie"}})"});
  EXPECT_EQ(shorter.Decide(Request(IotAction::kConnect, "client/")), Decision::kDefaultDeny);
  EXPECT_EQ(shorter.Decide(Request(IotAction::kConnect, "clie")), Decision::kAllow);

  const CompiledIamPolicies exact = CompileJson(
      {R"({"Statement":{"Effect":"Allow","Action":"iot:Subscribe","Resource":"topicfilter/"}})"});
  EXPECT_EQ(exact.Decide(Request(IotAction::kSubscribe, "topicfilter/")), Decision::kAllow);

  // A Deny of another type never hides anything; one of the request's type still wins, in
  // whichever document it is.
  const CompiledIamPolicies pooled = CompiledIamPolicies::FromShared(
      {CompiledIamDocument::CompileShared(Parse(
           R"({"Statement":{"Effect":"Deny","Action":"iot:Publish","Resource":"client/*"}})")),
       CompiledIamDocument::CompileShared(
           Parse(R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}]})")),
       CompiledIamDocument::CompileShared(Parse(
           R"({"Statement":{"Effect":"Deny","Action":"iot:*","Resource":"topic/secret"}})"))});
  EXPECT_EQ(pooled.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kAllow);
  EXPECT_EQ(pooled.Decide(Request(IotAction::kPublish, "topic/secret")),
            Decision::kExplicitDeny);
  EXPECT_EQ(pooled.Decide(Request(IotAction::kPublish, "client/a")), Decision::kExplicitDeny);
}

std::shared_ptr<const CompiledIamDocument> Shared(std::string_view json) {
  return CompiledIamDocument::CompileShared(Parse(json));
}

TEST(CompiledIamDocument, DecidesOneDocument) {
  const auto document = Shared(R"({"Statement":[
    {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"topic/dev/${iot:ClientId}/*"},
    {"Effect":"Deny","Action":"iot:Publish","Resource":"topic/dev/*/secret"}]})");
  EXPECT_EQ(document->Decide(Request(IotAction::kPublish, "topic/dev/c/x")), Decision::kAllow);
  EXPECT_EQ(document->Decide(Request(IotAction::kReceive, "topic/dev/c/secret")),
            Decision::kAllow);
  EXPECT_EQ(document->Decide(Request(IotAction::kPublish, "topic/dev/c/secret")),
            Decision::kExplicitDeny);
  EXPECT_EQ(document->Decide(Request(IotAction::kSubscribe, "topic/dev/c/x")),
            Decision::kDefaultDeny);
  EXPECT_EQ(document->Decide(Request(IotAction::kPublish, "topic/dev/d/x")),
            Decision::kDefaultDeny);
  EXPECT_GT(document->MemoryBytes(), 0u);
  EXPECT_EQ(CompiledIamDocument().Decide(Request(IotAction::kPublish, "topic/a")),
            Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, DenyInOneSharedDocumentBeatsAllowInAnother) {
  const auto allow = Shared(R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})");
  const auto deny =
      Shared(R"({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/x"}]})");
  for (const auto& order : {std::vector{allow, deny}, std::vector{deny, allow}}) {
    const CompiledIamPolicies set = CompiledIamPolicies::FromShared(order);
    EXPECT_EQ(set.Decide(Request(IotAction::kPublish, "topic/x")), Decision::kExplicitDeny);
    EXPECT_EQ(set.Decide(Request(IotAction::kReceive, "topic/x")), Decision::kAllow);
    EXPECT_EQ(set.Decide(Request(IotAction::kPublish, "topic/y")), Decision::kAllow);
  }
}

TEST(CompiledIamPolicies, FromSharedSkipsNullEmptyAndRepeatedDocuments) {
  const auto publish =
      Shared(R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/a"}]})");
  const auto empty = Shared(R"({"Statement":[]})");
  const auto unrouted = Shared(
      R"({"Statement":[{"Effect":"Deny","Action":"iot:UpdateThingShadow","Resource":"*"}]})");
  const CompiledIamPolicies set =
      CompiledIamPolicies::FromShared({nullptr, publish, empty, publish, unrouted, nullptr});
  EXPECT_EQ(set.document_count(), 1u);
  EXPECT_TRUE(set.References(*publish));
  EXPECT_FALSE(set.References(*empty));
  EXPECT_EQ(set.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kAllow);
  EXPECT_EQ(set.MemoryBytes(), publish->MemoryBytes());
  EXPECT_EQ(set.OwnMemoryBytes(), sizeof(CompiledIamPolicies));
  EXPECT_EQ(sizeof(CompiledIamPolicies), 32u);

  const CompiledIamPolicies nothing = CompiledIamPolicies::FromShared({nullptr, empty});
  EXPECT_EQ(nothing.document_count(), 0u);
  EXPECT_EQ(nothing.Decide(Request(IotAction::kPublish, "topic/a")), Decision::kDefaultDeny);
}

TEST(CompiledIamPolicies, MoreDocumentsThanFitInline) {
  std::vector<std::shared_ptr<const CompiledIamDocument>> documents;
  for (int i = 0; i < 7; ++i) {
    documents.push_back(Shared(R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish",)"
                               R"("Resource":"topic/)" + std::to_string(i) + R"("}]})"));
  }
  documents.push_back(Shared(
      R"({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/2"}]})"));
  const CompiledIamPolicies set = CompiledIamPolicies::FromShared(documents);
  EXPECT_EQ(set.document_count(), 8u);
  EXPECT_GT(set.OwnMemoryBytes(), sizeof(CompiledIamPolicies));
  for (int i = 0; i < 7; ++i) {
    const std::string topic = "topic/" + std::to_string(i);
    EXPECT_EQ(set.Decide(Request(IotAction::kPublish, topic)),
              i == 2 ? Decision::kExplicitDeny : Decision::kAllow)
        << topic;
    // The view reaches the spilled documents too (the Deny is the eighth document).
    EXPECT_EQ(set.view().Decide(Request(IotAction::kPublish, topic)),
              i == 2 ? Decision::kExplicitDeny : Decision::kAllow)
        << topic;
    EXPECT_TRUE(set.References(*documents[i]));
  }
  EXPECT_EQ(set.Decide(Request(IotAction::kPublish, "topic/7")), Decision::kDefaultDeny);

  const CompiledIamPolicies same = CompiledIamPolicies::FromShared(documents);
  EXPECT_TRUE(same.SharesDocumentsWith(set));
  documents.pop_back();
  const CompiledIamPolicies fewer = CompiledIamPolicies::FromShared(documents);
  EXPECT_FALSE(fewer.SharesDocumentsWith(set));
  EXPECT_EQ(fewer.Decide(Request(IotAction::kPublish, "topic/2")), Decision::kAllow);
}

TEST(CompiledIamPolicies, SetsKeepTheirBlocksAliveAndMovesHandThemOver) {
  auto document =
      Shared(R"({"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"client/c"}]})");
  CompiledIamPolicies set = CompiledIamPolicies::FromShared({document});
  CompiledIamPolicies other = CompiledIamPolicies::FromShared({document});
  document.reset();  // the control plane replaced the policy; snapshots still decide with it
  EXPECT_EQ(set.Decide(Request(IotAction::kConnect, "client/c")), Decision::kAllow);
  CompiledIamPolicies moved = std::move(set);
  EXPECT_EQ(set.Decide(Request(IotAction::kConnect, "client/c")),  // NOLINT(use-after-move)
            Decision::kDefaultDeny);
  EXPECT_EQ(set.document_count(), 0u);  // NOLINT(use-after-move)
  EXPECT_EQ(moved.Decide(Request(IotAction::kConnect, "client/c")), Decision::kAllow);
  moved = std::move(other);  // releases one reference, takes over the other
  EXPECT_EQ(moved.Decide(Request(IotAction::kConnect, "client/c")), Decision::kAllow);
  moved = CompiledIamPolicies();
  EXPECT_EQ(moved.Decide(Request(IotAction::kConnect, "client/c")), Decision::kDefaultDeny);
}

// Shards decide while the control plane builds and drops sets over the same documents: the
// block reference counts are the only shared mutable state.
TEST(CompiledIamPolicies, ConcurrentDecisionsWhileSetsComeAndGo) {
  const auto publish =
      Shared(R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/*"}]})");
  const auto deny =
      Shared(R"({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/x"}]})");
  const CompiledIamPolicies published = CompiledIamPolicies::FromShared({publish, deny});
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> deciders;
  for (int t = 0; t < 3; ++t) {
    deciders.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (published.Decide(Request(IotAction::kPublish, "topic/a")) != Decision::kAllow ||
            published.Decide(Request(IotAction::kPublish, "topic/x")) != Decision::kExplicitDeny) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 20000; ++i) {
    CompiledIamPolicies temporary = CompiledIamPolicies::FromShared({deny, publish});
    if (temporary.Decide(Request(IotAction::kPublish, "topic/x")) != Decision::kExplicitDeny) {
      wrong.fetch_add(1);
    }
  }
  stop = true;
  for (std::thread& thread : deciders) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---------------------------------------------------------------------------------------
// Differential test: the compiled trie against a direct, obviously-correct evaluation of the
// documents (expand variables, then backtracking glob per pattern).

struct PatternChar {
  char c;
  enum Kind { kLiteral, kAnyOne, kAnyRun } kind;
};

// Expands `${...}` with the request's values; false if a needed variable is unavailable.
bool Expand(std::string_view pattern, bool wildcards, const IamRequest& request,
            std::vector<PatternChar>* out) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i).starts_with("${")) {
      const std::size_t close = pattern.find('}', i);
      const std::string_view name = pattern.substr(i + 2, close - i - 2);
      std::string_view value;
      if (name == "iot:ClientId") {
        value = request.client_id;
      } else if (name == "iot:Connection.Thing.ThingName") {
        value = request.thing_name;
      } else {
        value = name;  // ${*}, ${?}, ${$}
      }
      if (value.empty()) return false;
      for (char c : value) out->push_back({c, PatternChar::kLiteral});
      i = close;
    } else if (wildcards && pattern[i] == '*') {
      out->push_back({'*', PatternChar::kAnyRun});
    } else if (wildcards && pattern[i] == '?') {
      out->push_back({'?', PatternChar::kAnyOne});
    } else {
      out->push_back({pattern[i], PatternChar::kLiteral});
    }
  }
  return true;
}

bool BacktrackMatch(const PatternChar* p, std::size_t n, std::string_view s) {
  if (n == 0) return s.empty();
  if (p->kind == PatternChar::kAnyRun) {
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (BacktrackMatch(p + 1, n - 1, s.substr(i))) return true;
    }
    return false;
  }
  if (s.empty()) return false;
  if (p->kind == PatternChar::kLiteral && p->c != s[0]) return false;
  return BacktrackMatch(p + 1, n - 1, s.substr(1));
}

bool ReferenceMatch(std::string_view pattern, bool wildcards, const IamRequest& request,
                    std::string_view text) {
  std::vector<PatternChar> expanded;
  return Expand(pattern, wildcards, request, &expanded) &&
         BacktrackMatch(expanded.data(), expanded.size(), text);
}

bool ReferenceConditionHolds(const IamCondition& condition, const IamRequest& request) {
  std::optional<std::string_view> actual;
  if (condition.key == IamConditionKey::kTopic) actual = request.topic;
  if (condition.key == IamConditionKey::kClientId && !request.client_id.empty()) {
    actual = request.client_id;
  }
  if (condition.key == IamConditionKey::kThingName && !request.thing_name.empty()) {
    actual = request.thing_name;
  }
  const bool negated = condition.op == IamConditionOperator::kStringNotEquals ||
                       condition.op == IamConditionOperator::kStringNotLike;
  if (!actual) return negated;
  const bool like = condition.op == IamConditionOperator::kStringLike ||
                    condition.op == IamConditionOperator::kStringNotLike;
  bool any = false;
  for (const std::string& value : condition.values) {
    any = any || ReferenceMatch(value, like, request, *actual);
  }
  return negated ? !any : any;
}

Decision ReferenceDecide(const std::vector<IamPolicyDocument>& documents,
                         const IamRequest& request) {
  bool allowed = false;
  for (const IamPolicyDocument& document : documents) {
    for (const IamStatement& statement : document.statements) {
      bool action_matches = false;
      for (const std::string& action : statement.actions) {
        action_matches = action_matches || action == "*" || action == "iot:*" ||
                         action == IotActionName(request.action);
      }
      bool resource_matches = false;
      for (const std::string& resource : statement.resources) {
        resource_matches =
            resource_matches || ReferenceMatch(resource, true, request, request.resource);
      }
      bool conditions_hold = true;
      for (const IamCondition& condition : statement.conditions) {
        conditions_hold = conditions_hold && ReferenceConditionHolds(condition, request);
      }
      if (!(action_matches && resource_matches && conditions_hold)) continue;
      if (statement.effect == IamEffect::kDeny) return Decision::kExplicitDeny;
      allowed = true;
    }
  }
  return allowed ? Decision::kAllow : Decision::kDefaultDeny;
}

class RandomIam {
 public:
  explicit RandomIam(unsigned seed) : rng_(seed) {}

  std::size_t Below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  std::string Text(std::size_t max_length) {
    static constexpr std::string_view kAlphabet = "ab/+";
    std::string out;
    const std::size_t length = Below(max_length + 1);
    for (std::size_t i = 0; i < length; ++i) out += kAlphabet[Below(kAlphabet.size())];
    return out;
  }

  std::string Pattern(bool wildcards) {
    static constexpr std::string_view kPieces[] = {
        "a", "b", "/", "+", "ab", "a/", "${iot:ClientId}", "${iot:Connection.Thing.ThingName}",
        "${*}", "*", "?", "*", "?"};
    std::string out;
    const std::size_t pieces = Below(5);
    const std::size_t choices = wildcards ? std::size(kPieces) : std::size(kPieces) - 4;
    for (std::size_t i = 0; i < pieces; ++i) out += kPieces[Below(choices)];
    return out;
  }

  std::string ResourcePattern() {
    static constexpr std::string_view kTypes[] = {"client/", "topic/", "topicfilter/", "", "*"};
    return std::string(kTypes[Below(std::size(kTypes))]) + Pattern(true);
  }

  IamPolicyDocument Document() {
    IamPolicyDocument document;
    const std::size_t statements = 1 + Below(4);
    for (std::size_t s = 0; s < statements; ++s) {
      IamStatement statement;
      statement.effect = Below(4) == 0 ? IamEffect::kDeny : IamEffect::kAllow;
      static constexpr std::string_view kActions[] = {
          "iot:Connect", "iot:Publish", "iot:Receive", "iot:Subscribe", "iot:SendDirectMessage",
          "iot:*", "*"};
      statement.actions.emplace_back(kActions[Below(std::size(kActions))]);
      if (Below(3) == 0) statement.actions.emplace_back(kActions[Below(std::size(kActions))]);
      const std::size_t resources = 1 + Below(3);
      for (std::size_t r = 0; r < resources; ++r) {
        statement.resources.push_back(Below(10) == 0 ? "*" : ResourcePattern());
      }
      const std::size_t conditions = Below(3);
      for (std::size_t c = 0; c < conditions; ++c) {
        IamCondition condition;
        condition.op = static_cast<IamConditionOperator>(Below(4));
        condition.key = static_cast<IamConditionKey>(Below(3));
        const bool like = condition.op == IamConditionOperator::kStringLike ||
                          condition.op == IamConditionOperator::kStringNotLike;
        const std::size_t values = 1 + Below(2);
        for (std::size_t v = 0; v < values; ++v) condition.values.push_back(Pattern(like));
        statement.conditions.push_back(std::move(condition));
      }
      document.statements.push_back(std::move(statement));
    }
    return document;
  }

 private:
  std::mt19937 rng_;
};

TEST(CompiledIamPolicies, AgreesWithDirectEvaluationOnRandomPolicies) {
  RandomIam random(20240611);
  static constexpr std::string_view kTypes[] = {"client/", "topic/", "topicfilter/", ""};
  std::size_t allows = 0;
  std::size_t denies = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<IamPolicyDocument> documents;
    const std::size_t count = 1 + random.Below(5);  // up to 5: beyond the 3 inline documents
    for (std::size_t d = 0; d < count; ++d) documents.push_back(random.Document());
    const CompiledIamPolicies compiled = CompiledIamPolicies::Compile(documents);
    // The server's shape: each document compiled on its own, pooled at decision time.
    std::vector<std::shared_ptr<const CompiledIamDocument>> shared;
    for (const IamPolicyDocument& document : documents) {
      shared.push_back(CompiledIamDocument::CompileShared(document));
    }
    const CompiledIamPolicies pooled = CompiledIamPolicies::FromShared(shared);
    for (int q = 0; q < 100; ++q) {
      const std::string client_id = random.Text(2);
      const std::string thing_name = random.Text(2);
      const std::string topic = random.Text(4);
      const std::string resource = std::string(kTypes[random.Below(std::size(kTypes))]) +
                                   (random.Below(4) == 0 ? client_id : "") + random.Text(5);
      IamRequest request;
      request.action = static_cast<IotAction>(random.Below(kIotActionCount));
      request.resource = resource;
      request.client_id = client_id;
      request.thing_name = thing_name;
      if (random.Below(4) != 0) request.topic = topic;
      const Decision expected = ReferenceDecide(documents, request);
      ASSERT_EQ(compiled.Decide(request), expected)
          << "round " << round << " action " << IotActionName(request.action) << " resource "
          << resource << " client " << client_id << " thing " << thing_name;
      ASSERT_EQ(pooled.Decide(request), expected) << "pooled, round " << round;
      ASSERT_EQ(pooled.view().Decide(request), expected) << "view, round " << round;
      if (shared.size() == 1) {
        ASSERT_EQ(shared[0]->Decide(request), expected) << "document, round " << round;
      }
      (expected == Decision::kAllow ? allows : denies) += 1;
    }
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(allows, 1000u);
  EXPECT_GT(denies, 1000u);
}

}  // namespace
}  // namespace sb::policy
