#include "policy/iam_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sb::policy {
namespace {

using ::testing::HasSubstr;

// Parses `json`, expecting an error whose message contains `fragment`.
void ExpectRejected(std::string_view json, std::string_view fragment) {
  const Result<IamPolicyDocument> result = ParseIamPolicy(json);
  ASSERT_FALSE(result.ok()) << json;
  EXPECT_EQ(result.error().code, kIamPolicyInvalid);
  EXPECT_THAT(result.error().message, HasSubstr(std::string(fragment))) << json;
}

TEST(ParseIamPolicy, SpecExample) {
  const Result<IamPolicyDocument> result = ParseIamPolicy(R"({
    "Version":"2012-10-17",
    "Statement":[{"Effect":"Allow","Action":"iot:SendDirectMessage",
      "Resource":"arn:aws:iot:*:*:client/myDevice",
      "Condition":{"StringEquals":{"iot:Topic":["commands/reboot","commands/update"]}}}]})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const IamPolicyDocument& document = result.value();
  ASSERT_EQ(document.statements.size(), 1u);
  const IamStatement& statement = document.statements[0];
  EXPECT_EQ(statement.effect, IamEffect::kAllow);
  EXPECT_EQ(statement.actions, std::vector<std::string>{"iot:SendDirectMessage"});
  EXPECT_EQ(statement.resources, std::vector<std::string>{"client/myDevice"});
  ASSERT_EQ(statement.conditions.size(), 1u);
  EXPECT_EQ(statement.conditions[0].op, IamConditionOperator::kStringEquals);
  EXPECT_EQ(statement.conditions[0].key, IamConditionKey::kTopic);
  EXPECT_EQ(statement.conditions[0].values,
            (std::vector<std::string>{"commands/reboot", "commands/update"}));
}

TEST(ParseIamPolicy, StatementMayBeOneObjectAndFieldsMayBeLists) {
  const Result<IamPolicyDocument> result = ParseIamPolicy(R"({
    "Statement":{"Sid":"s1","Effect":"Deny","Action":["iot:Publish","iot:Receive"],
                 "Resource":["topic/a","arn:aws:iot:eu-west-1:1234:topic/b:c"]}})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const IamStatement& statement = result.value().statements.at(0);
  EXPECT_EQ(statement.sid, "s1");
  EXPECT_EQ(statement.effect, IamEffect::kDeny);
  EXPECT_EQ(statement.actions.size(), 2u);
  // ARNs become the short form; a `:` inside the resource name survives.
  EXPECT_EQ(statement.resources, (std::vector<std::string>{"topic/a", "topic/b:c"}));
}

TEST(ParseIamPolicy, EmptyStatementListIsValidAndGrantsNothing) {
  const Result<IamPolicyDocument> result = ParseIamPolicy(R"({"Statement":[]})");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value().statements.empty());
}

TEST(ParseIamPolicy, ConditionKeysAreCaseInsensitiveAndAllOperatorsParse) {
  const Result<IamPolicyDocument> result = ParseIamPolicy(R"({"Statement":[{
    "Effect":"Allow","Action":"iot:Connect","Resource":"*",
    "Condition":{"StringEquals":{"IOT:CLIENTID":"a"},"StringNotEquals":{"iot:Topic":"b"},
                 "StringLike":{"iot:Connection.Thing.ThingName":"c*"},
                 "StringNotLike":{"iot:topic":["d?","e"]}}}]})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const auto& conditions = result.value().statements.at(0).conditions;
  ASSERT_EQ(conditions.size(), 4u);
  EXPECT_EQ(conditions[0].key, IamConditionKey::kClientId);
  EXPECT_EQ(conditions[1].op, IamConditionOperator::kStringNotEquals);
  EXPECT_EQ(conditions[2].key, IamConditionKey::kThingName);
  EXPECT_EQ(conditions[3].op, IamConditionOperator::kStringNotLike);
  EXPECT_EQ(conditions[3].values.size(), 2u);
}

TEST(ParseIamPolicy, RejectsInvalidJsonAndWrongTopLevel) {
  ExpectRejected("{", "invalid JSON");
  ExpectRejected("[]", "must be a JSON object");
  ExpectRejected("{}", "Statement is required");
  ExpectRejected(R"({"Statement":"x"})", "Statement must be an object or a list");
  ExpectRejected(R"({"Version":"2008-10-17","Statement":[]})", "Version must be \"2012-10-17\"");
  ExpectRejected(R"({"Version":1,"Statement":[]})", "Version must be a string");
  ExpectRejected(R"({"Statement":[],"Extra":1})", "unknown top-level field \"Extra\"");
  ExpectRejected(R"({"Statement":[],"Statement":[]})", "field \"Statement\" twice");
}

TEST(ParseIamPolicy, RejectsBadStatementsNamingTheField) {
  ExpectRejected(R"({"Statement":[1]})", "Statement[0] must be an object");
  ExpectRejected(R"({"Statement":[{"Action":"iot:*","Resource":"*"}]})",
                 "Statement[0].Effect is required");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Resource":"*"}]})",
                 "Statement[0].Action is required");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":"iot:*"}]})",
                 "Statement[0].Resource is required");
  ExpectRejected(R"({"Statement":[{"Effect":"Alow","Action":"iot:*","Resource":"*"}]})",
                 "Statement[0].Effect must be \"Allow\" or \"Deny\", got \"Alow\"");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]})",
                 "Statement[0].Action must be a string or a list of strings, got a number");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]})",
                 "Statement[0].Action must not be an empty list");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":["iot:*",1],"Resource":"*"}]})",
                 "Statement[0].Action[1] must be a string");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":"Publish","Resource":"*"}]})",
                 "must have the form service:Action");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":""}]})",
                 "Statement[0].Resource must not be empty");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Colour":"red"}]})",
      "Statement[0]: unknown field \"Colour\"");
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","NotAction":"iot:*","Resource":"*"}]})",
                 "Statement[0].NotAction is not supported");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Effect":"Deny","Action":"iot:*","Resource":"*"}]})",
      "Statement[0] has the field \"Effect\" twice");
}

TEST(ParseIamPolicy, RejectsBadResources) {
  ExpectRejected(R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot"}]})",
                 "is not a valid ARN");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:s3:::bucket/x"}]})",
      "is not an AWS IoT ARN");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:r:1:"}]})",
      "names no resource");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"client/${iot:Certificate}"}]})",
      "unsupported policy variable ${iot:Certificate}");
  ExpectRejected(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"client/${iot:ClientId"}]})",
      "unterminated policy variable");
}

TEST(ParseIamPolicy, RejectsBadConditions) {
  const auto with_condition = [](std::string_view condition) {
    return std::string(R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*",)") +
           R"("Condition":)" + std::string(condition) + "}]}";
  };
  ExpectRejected(with_condition(R"([])"), "Statement[0].Condition must be an object");
  ExpectRejected(with_condition(R"({"ForAnyValue:StringLike":{"iot:Topic":"a"}})"),
                 "unsupported operator \"ForAnyValue:StringLike\"");
  ExpectRejected(with_condition(R"({"StringEqualsIfExists":{"iot:Topic":"a"}})"),
                 "unsupported operator \"StringEqualsIfExists\"");
  ExpectRejected(with_condition(R"({"StringEquals":{"aws:SourceIp":"a"}})"),
                 "unsupported condition key \"aws:SourceIp\"");
  ExpectRejected(with_condition(R"({"StringEquals":{}})"),
                 "Statement[0].Condition.StringEquals must name at least one condition key");
  ExpectRejected(with_condition(R"({"StringEquals":"x"})"),
                 "Statement[0].Condition.StringEquals must be an object");
  ExpectRejected(with_condition(R"({"StringEquals":{"iot:Topic":5}})"),
                 "Statement[0].Condition.StringEquals.iot:Topic must be a string or a list");
  ExpectRejected(with_condition(R"({"StringEquals":{"iot:Topic":"a","iot:Topic":"b"}})"),
                 "names key \"iot:Topic\" twice");
  ExpectRejected(with_condition(R"({"StringLike":{"iot:Topic":"${iot:Nope}"}})"),
                 "unsupported policy variable");
}

TEST(ParseIamPolicy, EnforcesLimits) {
  IamPolicyLimits limits;
  limits.max_document_bytes = 32;
  Result<IamPolicyDocument> result =
      ParseIamPolicy(R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})",
                     limits);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("at most 32"));

  limits = {};
  limits.max_statements = 1;
  result = ParseIamPolicy(
      R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"},
                       {"Effect":"Allow","Action":"iot:*","Resource":"*"}]})",
      limits);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("at most 1"));

  const std::string deep(100, '[');
  result = ParseIamPolicy(deep + std::string(100, ']'));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("invalid JSON"));
}

TEST(ParseIamPolicy, ErrorMessagesQuoteUntrustedTextSafely) {
  const Result<IamPolicyDocument> result =
      ParseIamPolicy("{\"Statement\":[{\"Effect\":\"A\\u0001\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("\"A\\u0001\""));
}

TEST(IotAction, NamesRoundTripCaseInsensitively) {
  for (std::size_t i = 0; i < kIotActionCount; ++i) {
    const auto action = static_cast<IotAction>(i);
    EXPECT_EQ(ParseIotAction(IotActionName(action)), action);
  }
  EXPECT_EQ(ParseIotAction("IOT:PUBLISH"), IotAction::kPublish);
  EXPECT_EQ(ParseIotAction("iot:Publish2"), std::nullopt);
  EXPECT_EQ(ParseIotAction("iot:*"), std::nullopt);
}

}  // namespace
}  // namespace sb::policy
