#include "engine/control_plane.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "policy/password.h"
#include "tests/unit/control/temp_dir.h"

namespace sb::control {
namespace {

using Request = ControlPlane::Request;
using Response = ControlPlane::Response;
using testing::TempDir;

constexpr std::string_view kAdminPassword = "admin-secret";

// A Ditto policy: `writer` gets READ+WRITE on everything, `reader` READ on everything.
std::string DittoPolicy(std::string_view writer, std::string_view reader = "basic:nobody",
                        std::string_view id = "") {
  std::string json = "{";
  if (!id.empty()) json += "\"policyId\":\"" + std::string(id) + "\",";
  json +=
      R"("entries":{"owner":{"subjects":{")" + std::string(writer) +
      R"(":{"type":"t"}},"resources":{"policy:/":{"grant":["READ","WRITE"],"revoke":[]},"thing:/":{"grant":["READ","WRITE"],"revoke":[]},"message:/":{"grant":["READ","WRITE"],"revoke":[]}}},)"
      R"("reader":{"subjects":{")" +
      std::string(reader) +
      R"(":{"type":"t"}},"resources":{"policy:/":{"grant":["READ"],"revoke":[]},"thing:/":{"grant":["READ"],"revoke":[]}}}}})";
  return json;
}

constexpr std::string_view kPublishA =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/a"}]})";
constexpr std::string_view kPublishB =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:*:topic/b"}]})";

// Parses a response body, failing the test when it is not JSON.
simdjson::dom::element ParseJson(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
  return root;
}

std::string ErrorCode(const Response& response) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(response.body)["error"].get(code) != simdjson::SUCCESS) return "<none>";
  return std::string(code);
}

// Checks Ditto's error shape and returns the error code.
std::string CheckedErrorCode(const Response& response) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  EXPECT_EQ(parser.parse(response.body).get(object), simdjson::SUCCESS) << response.body;
  int64_t status = 0;
  EXPECT_EQ(object["status"].get(status), simdjson::SUCCESS) << response.body;
  EXPECT_EQ(status, response.status);
  std::string_view message;
  EXPECT_EQ(object["message"].get(message), simdjson::SUCCESS) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  return ErrorCode(response);
}

bool Allowed(const Principal& principal, policy::IotAction action, std::string_view resource) {
  return principal.iam.IsAllowed(policy::IamRequest{action, resource, "", "", std::nullopt});
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(/*anonymous=*/false, std::string(kAdminPassword)); }

  void Reopen(bool anonymous, std::string admin_password, size_t shard_count = 0) {
    plane_.reset();
    plane_ = std::make_unique<ControlPlane>(
        ControlPlane::Options{temp_.path(), std::move(admin_password), anonymous, shard_count});
    std::string error;
    ASSERT_TRUE(plane_->Open(&error)) << error;
  }

  std::unique_ptr<Response> Call(std::string method, std::string path, std::string body = "",
                                 std::string principal = "admin") {
    Request request;
    request.shard = 3;
    request.token = ++token_;
    request.method = std::move(method);
    request.path = std::move(path);
    request.body = std::move(body);
    request.principal = std::move(principal);
    auto response = plane_->Handle(request);
    EXPECT_EQ(response->shard, 3);
    EXPECT_EQ(response->token, token_);
    return response;
  }

  // Creates a principal (as admin) and checks the 201.
  void CreatePrincipal(const std::string& name, const std::string& extra_json = "") {
    std::string body = R"({"password":"pw-)" + name + "\"" + extra_json + "}";
    auto response = Call("PUT", "/admin/principals/" + name, body);
    ASSERT_EQ(response->status, 201) << response->body;
  }

  void CreatePolicy(const std::string& id, const std::string& body,
                    const std::string& principal = "admin") {
    auto response = Call("PUT", "/api/2/policies/" + id, body, principal);
    ASSERT_EQ(response->status, 201) << response->body;
  }

  void CreateThing(const std::string& id, const std::string& policy_id,
                   const std::string& principal = "admin") {
    auto response =
        Call("PUT", "/api/2/things/" + id, R"({"policyId":")" + policy_id + "\"}", principal);
    ASSERT_EQ(response->status, 201) << response->body;
  }

  const SecuritySnapshot& snapshot() const { return *plane_->Current(); }

  TempDir temp_;
  std::unique_ptr<ControlPlane> plane_;
  uint64_t token_ = 0;
};

// ---- start-up and routing -------------------------------------------------------------

TEST_F(ControlPlaneTest, OpenCreatesAdminAndTheFirstSnapshot) {
  const SecuritySnapshot* current = plane_->Current();
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->version(), 1u);
  const Principal* admin = current->FindPrincipal("admin");
  ASSERT_NE(admin, nullptr);
  EXPECT_TRUE(admin->admin);
  EXPECT_TRUE(policy::VerifyPassword(admin->password_hash, kAdminPassword));
  EXPECT_FALSE(policy::VerifyPassword(admin->password_hash, "wrong"));
  EXPECT_EQ(admin->subjects, std::vector<std::string>{"basic:admin"});
  EXPECT_TRUE(Allowed(*admin, policy::IotAction::kConnect, "client/x"));
  EXPECT_EQ(current->anonymous(), nullptr);
}

TEST_F(ControlPlaneTest, OpenTwiceIsAnError) {
  std::string error;
  EXPECT_FALSE(plane_->Open(&error));
  EXPECT_FALSE(error.empty());
}

TEST_F(ControlPlaneTest, OpenFailsCleanlyOnAnUnusableDataDir) {
  ControlPlane plane(ControlPlane::Options{"/proc/definitely/not/here", "", false, 0});
  std::string error;
  EXPECT_FALSE(plane.Open(&error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(plane.Current(), nullptr);
  Request request;
  request.method = "GET";
  request.path = "/api/2/things/a:b";
  EXPECT_EQ(plane.Handle(request)->status, 503);
}

TEST_F(ControlPlaneTest, UnknownRoutesMethodsAndCallers) {
  auto response = Call("GET", "/admin/unknown/x");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "resource.notfound");
  EXPECT_EQ(Call("GET", "/api/2/things/")->status, 404);
  EXPECT_EQ(Call("GET", "/api/2/things/a:b/attributes")->status, 404);
  EXPECT_EQ(Call("GET", "/api/2/policies")->status, 404);

  response = Call("POST", "/api/2/things/a:b", "{}");
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(CheckedErrorCode(*response), "method.notallowed");
  EXPECT_EQ(Call("PATCH", "/admin/principals/x")->status, 405);

  response = Call("GET", "/api/2/things/a:b", "", "mallory");  // unknown principal
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(CheckedErrorCode(*response), "gateway:authentication.failed");
  EXPECT_EQ(Call("GET", "/api/2/things/a:b", "", "")->status, 401);  // anonymous is off
}

// ---- principals -----------------------------------------------------------------------

TEST_F(ControlPlaneTest, PrincipalLifecycle) {
  auto response = Call("PUT", "/admin/principals/alice",
                       R"({"password":"pw","subjects":["google:alice","basic:alice"]})");
  ASSERT_EQ(response->status, 201) << response->body;
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body, R"({"name":"alice","subjects":["google:alice"],"iotPolicies":[]})");

  const Principal* alice = snapshot().FindPrincipal("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_FALSE(alice->admin);
  EXPECT_TRUE(policy::VerifyPassword(alice->password_hash, "pw"));
  EXPECT_EQ(alice->subjects, (std::vector<std::string>{"basic:alice", "google:alice"}));

  // GET never returns secrets.
  response = Call("GET", "/admin/principals/alice");
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(response->body.find("pw"), std::string::npos);
  EXPECT_EQ(response->body.find("argon2"), std::string::npos);
  EXPECT_EQ(response->body.find("password"), std::string::npos);
  EXPECT_EQ(response->body, R"({"name":"alice","subjects":["google:alice"],"iotPolicies":[]})");

  // Update without password keeps the hash; subjects are replaced.
  const std::string old_hash = alice->password_hash;
  response = Call("PUT", "/admin/principals/alice", R"({"subjects":[]})");
  ASSERT_EQ(response->status, 204) << response->body;
  EXPECT_TRUE(response->body.empty());
  EXPECT_TRUE(response->content_type.empty());
  alice = snapshot().FindPrincipal("alice");
  EXPECT_EQ(alice->password_hash, old_hash);
  EXPECT_EQ(alice->subjects, std::vector<std::string>{"basic:alice"});

  // Update with a password changes it.
  ASSERT_EQ(Call("PUT", "/admin/principals/alice", R"({"password":"new"})")->status, 204);
  EXPECT_TRUE(policy::VerifyPassword(snapshot().FindPrincipal("alice")->password_hash, "new"));

  ASSERT_EQ(Call("DELETE", "/admin/principals/alice")->status, 204);
  EXPECT_EQ(snapshot().FindPrincipal("alice"), nullptr);
  response = Call("DELETE", "/admin/principals/alice");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:principal.notfound");
  EXPECT_EQ(Call("GET", "/admin/principals/alice")->status, 404);
}

TEST_F(ControlPlaneTest, PrincipalValidation) {
  auto response = Call("PUT", "/admin/principals/alice", R"({"subjects":[]})");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:principal.invalid");
  EXPECT_NE(response->body.find("password is required"), std::string::npos) << response->body;

  response = Call("PUT", "/admin/principals/alice", R"({"password":"pw","colour":"red"})");
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("colour"), std::string::npos) << response->body;

  response = Call("PUT", "/admin/principals/alice", R"({"password":"pw","iotPolicies":["nope"]})");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:iot-policy.notfound");
  EXPECT_NE(response->body.find("nope"), std::string::npos);

  for (const char* body :
       {R"({"password":7})", R"({"password":""})", R"({"password":"pw","subjects":"x"})",
        R"({"password":"pw","subjects":[1]})", R"({"password":"pw","subjects":[""]})",
        R"({"password":"pw","iotPolicies":{}})", R"({"password":"pw","name":"bob"})", "[]",
        R"("pw")"}) {
    response = Call("PUT", "/admin/principals/alice", body);
    EXPECT_EQ(response->status, 400) << body;
    EXPECT_EQ(CheckedErrorCode(*response), "admin:principal.invalid") << body;
  }
  response = Call("PUT", "/admin/principals/alice", R"({"password":"pw")");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "json.invalid");
  response = Call("PUT", "/admin/principals/alice", R"({"password":"a","password":"b"})");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "json.invalid");

  for (const char* path :
       {"/admin/principals/a:b", "/admin/principals/a%2Fb", "/admin/principals/a%0Ab",
        "/admin/principals/bad%zz", "/admin/principals/%ff"}) {
    response = Call("PUT", path, R"({"password":"pw"})");
    EXPECT_EQ(response->status, 400) << path;
    EXPECT_EQ(CheckedErrorCode(*response), "admin:principal.name.invalid") << path;
  }
  response =
      Call("PUT", "/admin/principals/x", std::string(ControlPlane::kMaxAdminBodyBytes + 1, ' '));
  EXPECT_EQ(response->status, 413);

  // Nothing above was written.
  EXPECT_EQ(snapshot().version(), 1u);
  EXPECT_EQ(snapshot().principal_count(), 1u);
  // A matching name in the body and a percent-encoded path are fine.
  EXPECT_EQ(
      Call("PUT", "/admin/principals/j%C3%B6rg", R"({"name":"jörg","password":"pw"})")->status,
      201);
  EXPECT_NE(snapshot().FindPrincipal("jörg"), nullptr);
}

TEST_F(ControlPlaneTest, AdminRoutesAreAdminOnly) {
  CreatePrincipal("alice");
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/admin/principals/alice"},
                                                        {"PUT", "/admin/principals/bob"},
                                                        {"DELETE", "/admin/principals/alice"},
                                                        {"GET", "/admin/iot-policies/p"},
                                                        {"PUT", "/admin/iot-policies/p"},
                                                        {"DELETE", "/admin/iot-policies/p"}}) {
    auto response = Call(method, path, R"({"password":"x"})", "alice");
    EXPECT_EQ(response->status, 403) << method << " " << path;
    EXPECT_EQ(CheckedErrorCode(*response), "admin:forbidden");
  }
  EXPECT_NE(snapshot().FindPrincipal("alice"), nullptr);
}

TEST_F(ControlPlaneTest, AdminCannotBeDeletedButCanChangeItsPassword) {
  auto response = Call("DELETE", "/admin/principals/admin");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:principal.notdeletable");
  ASSERT_EQ(Call("PUT", "/admin/principals/admin", R"({"password":"rotated"})")->status, 204);
  const Principal* admin = snapshot().FindPrincipal("admin");
  ASSERT_NE(admin, nullptr);
  EXPECT_TRUE(admin->admin);
  EXPECT_TRUE(policy::VerifyPassword(admin->password_hash, "rotated"));
}

// ---- IoT policies ---------------------------------------------------------------------

TEST_F(ControlPlaneTest, IotPolicyLifecycle) {
  auto response = Call("PUT", "/admin/iot-policies/publish-a", std::string(kPublishA));
  ASSERT_EQ(response->status, 201) << response->body;
  response = Call("GET", "/admin/iot-policies/publish-a");
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(response->body, kPublishA);
  EXPECT_EQ(response->content_type, "application/json");

  ASSERT_EQ(Call("PUT", "/admin/iot-policies/publish-a", std::string(kPublishB))->status, 204);
  EXPECT_EQ(Call("GET", "/admin/iot-policies/publish-a")->body, kPublishB);

  response = Call("PUT", "/admin/iot-policies/bad", R"({"Statement":[{"Effect":"Maybe"}]})");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "iot:policy.invalid");
  EXPECT_NE(response->body.find("Statement[0]"), std::string::npos) << response->body;
  EXPECT_EQ(Call("PUT", "/admin/iot-policies/bad", "not json")->status, 400);
  response = Call("PUT", "/admin/iot-policies/bad%20name", std::string(kPublishA));
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:iot-policy.name.invalid");
  EXPECT_EQ(Call("GET", "/admin/iot-policies/bad")->status, 404);

  ASSERT_EQ(Call("DELETE", "/admin/iot-policies/publish-a")->status, 204);
  response = Call("DELETE", "/admin/iot-policies/publish-a");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:iot-policy.notfound");
}

TEST_F(ControlPlaneTest, IotPolicyDeleteIsRefusedWhileAttached) {
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p", std::string(kPublishA))->status, 201);
  CreatePrincipal("alice", R"(,"iotPolicies":["p"])");
  CreatePrincipal("bob", R"(,"iotPolicies":["p"])");
  auto response = Call("DELETE", "/admin/iot-policies/p");
  EXPECT_EQ(response->status, 409);
  EXPECT_EQ(CheckedErrorCode(*response), "admin:iot-policy.attached");
  EXPECT_NE(response->body.find("alice"), std::string::npos) << response->body;
  EXPECT_NE(response->body.find("1 more"), std::string::npos) << response->body;

  ASSERT_EQ(Call("PUT", "/admin/principals/alice", R"({"iotPolicies":[]})")->status, 204);
  ASSERT_EQ(Call("DELETE", "/admin/principals/bob")->status, 204);
  EXPECT_EQ(Call("DELETE", "/admin/iot-policies/p")->status, 204);
}

TEST_F(ControlPlaneTest, CompiledIamFollowsAttachedPoliciesAndTheirUpdates) {
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p1", std::string(kPublishA))->status, 201);
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p2", std::string(kPublishB))->status, 201);
  CreatePrincipal("alice", R"(,"iotPolicies":["p1"])");
  CreatePrincipal("bob");
  const Principal* bob_before = snapshot().FindPrincipal("bob");

  const Principal* alice = snapshot().FindPrincipal("alice");
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_FALSE(Allowed(*alice, policy::IotAction::kPublish, "topic/b"));

  // Attaching a second policy pools both.
  ASSERT_EQ(Call("PUT", "/admin/principals/alice", R"({"iotPolicies":["p1","p2"]})")->status, 204);
  alice = snapshot().FindPrincipal("alice");
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/b"));

  // Changing a document recompiles the principals that attach it.
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p1",
                 R"({"Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/*"}]})")
                ->status,
            204);
  alice = snapshot().FindPrincipal("alice");
  EXPECT_FALSE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_FALSE(Allowed(*alice, policy::IotAction::kPublish, "topic/b"));  // explicit deny wins
  EXPECT_EQ(alice->iot_policy_names, (std::vector<std::string>{"p1", "p2"}));

  // Principals that do not attach it are shared, not rebuilt.
  EXPECT_EQ(snapshot().FindPrincipal("bob"), bob_before);

  // Detaching p1 leaves only p2.
  ASSERT_EQ(Call("PUT", "/admin/principals/alice", R"({"iotPolicies":["p2"]})")->status, 204);
  alice = snapshot().FindPrincipal("alice");
  EXPECT_FALSE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/b"));
}

TEST_F(ControlPlaneTest, EachIotPolicyIsCompiledOnceAndSharedByItsPrincipals) {
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p1", std::string(kPublishA))->status, 201);
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p2", std::string(kPublishB))->status, 201);
  CreatePrincipal("alice", R"(,"iotPolicies":["p1"])");
  CreatePrincipal("erin", R"(,"iotPolicies":["p1"])");
  CreatePrincipal("carol", R"(,"iotPolicies":["p1","p2"])");
  CreatePrincipal("dave", R"(,"iotPolicies":["p2"])");
  const auto principal = [this](std::string_view name) {
    return snapshot().tables().principals->at(std::string(name));
  };
  const std::shared_ptr<const Principal> alice_before = principal("alice");
  const std::shared_ptr<const Principal> dave_before = principal("dave");
  EXPECT_EQ(alice_before->iam.document_count(), 1u);
  EXPECT_EQ(principal("carol")->iam.document_count(), 2u);
  EXPECT_TRUE(alice_before->iam.SharesDocumentsWith(principal("erin")->iam));

  // A change compiles p1 once more; every principal attaching it moves to that compilation.
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p1",
                 R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/c"}]})")
                ->status,
            204);
  const std::shared_ptr<const Principal> alice = principal("alice");
  EXPECT_NE(alice, alice_before);
  EXPECT_FALSE(alice->iam.SharesDocumentsWith(alice_before->iam));
  EXPECT_TRUE(alice->iam.SharesDocumentsWith(principal("erin")->iam));
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/c"));
  EXPECT_FALSE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_TRUE(Allowed(*alice_before, policy::IotAction::kPublish, "topic/a"));  // old snapshot
  // carol pools the new p1 and the unchanged p2, exactly as a principal created now does.
  CreatePrincipal("gina", R"(,"iotPolicies":["p1","p2"])");
  EXPECT_TRUE(principal("carol")->iam.SharesDocumentsWith(principal("gina")->iam));
  EXPECT_EQ(principal("dave"), dave_before);  // does not attach p1: not rebuilt

  // A restart compiles each stored policy once, too.
  Reopen(/*anonymous=*/false, std::string(kAdminPassword));
  EXPECT_TRUE(principal("alice")->iam.SharesDocumentsWith(principal("erin")->iam));
  EXPECT_TRUE(principal("carol")->iam.SharesDocumentsWith(principal("gina")->iam));
  EXPECT_TRUE(Allowed(*principal("carol"), policy::IotAction::kPublish, "topic/b"));
  EXPECT_TRUE(Allowed(*principal("carol"), policy::IotAction::kPublish, "topic/c"));
}

// ---- Ditto policies -------------------------------------------------------------------

TEST_F(ControlPlaneTest, DittoPolicyCreateReadUpdateDelete) {
  CreatePrincipal("alice");
  CreatePrincipal("bob");
  CreatePrincipal("carol");
  auto response =
      Call("PUT", "/api/2/policies/org.acme:p", DittoPolicy("basic:alice", "basic:bob"), "alice");
  ASSERT_EQ(response->status, 201) << response->body;
  simdjson::dom::parser parser;
  std::string_view policy_id;
  ASSERT_EQ(ParseJson(parser, response->body)["policyId"].get(policy_id), simdjson::SUCCESS);
  EXPECT_EQ(policy_id, "org.acme:p");
  ASSERT_NE(snapshot().FindDittoPolicy("org.acme:p"), nullptr);

  // GET: writer and reader see it, others get 404.
  EXPECT_EQ(Call("GET", "/api/2/policies/org.acme:p", "", "alice")->body, response->body);
  EXPECT_EQ(Call("GET", "/api/2/policies/org.acme:p", "", "bob")->status, 200);
  response = Call("GET", "/api/2/policies/org.acme:p", "", "carol");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notfound");
  EXPECT_EQ(Call("GET", "/api/2/policies/org.acme:p", "", "admin")->status, 200);

  // Update: the reader may not, the stranger does not even see it.
  response = Call("PUT", "/api/2/policies/org.acme:p", DittoPolicy("basic:bob"), "bob");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notmodifiable");
  response = Call("PUT", "/api/2/policies/org.acme:p", DittoPolicy("basic:carol"), "carol");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notfound");

  // The owner hands the policy to carol (someone keeps WRITE on policy:/).
  response = Call("PUT", "/api/2/policies/org.acme:p",
                  DittoPolicy("basic:carol", "basic:nobody", "org.acme:p"), "alice");
  EXPECT_EQ(response->status, 204) << response->body;
  EXPECT_EQ(Call("GET", "/api/2/policies/org.acme:p", "", "alice")->status, 404);
  EXPECT_EQ(Call("GET", "/api/2/policies/org.acme:p", "", "carol")->status, 200);

  // Delete: not visible -> 404, visible without WRITE -> 403, owner -> 204.
  EXPECT_EQ(Call("DELETE", "/api/2/policies/org.acme:p", "", "alice")->status, 404);
  ASSERT_EQ(
      Call("PUT", "/api/2/policies/org.acme:p", DittoPolicy("basic:carol", "basic:bob"), "carol")
          ->status,
      204);
  response = Call("DELETE", "/api/2/policies/org.acme:p", "", "bob");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notmodifiable");
  EXPECT_EQ(Call("DELETE", "/api/2/policies/org.acme:p", "", "carol")->status, 204);
  EXPECT_EQ(snapshot().FindDittoPolicy("org.acme:p"), nullptr);
  EXPECT_EQ(Call("DELETE", "/api/2/policies/org.acme:p", "", "admin")->status, 404);
}

TEST_F(ControlPlaneTest, DittoPolicyAuthorisationRules) {
  CreatePrincipal("alice");
  // The new policy must grant the creator WRITE on policy:/.
  auto response = Call("PUT", "/api/2/policies/org.acme:p", DittoPolicy("basic:bob"), "alice");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notcreatable");
  EXPECT_EQ(snapshot().FindDittoPolicy("org.acme:p"), nullptr);

  // Extra subjects count: alice carries google:alice.
  ASSERT_EQ(Call("PUT", "/admin/principals/alice", R"({"subjects":["google:alice"]})")->status,
            204);
  CreatePolicy("org.acme:p", DittoPolicy("google:alice"), "alice");

  // An update may not leave nobody with WRITE on policy:/.
  const std::string read_only =
      R"({"entries":{"e":{"subjects":{"google:alice":{"type":"t"}},"resources":{"policy:/":{"grant":["READ"],"revoke":[]}}}}})";
  response = Call("PUT", "/api/2/policies/org.acme:p", read_only, "alice");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.modificationinvalid");

  // Admin is always allowed, even to create a policy nobody may write.
  EXPECT_EQ(Call("PUT", "/api/2/policies/org.acme:p", read_only, "admin")->status, 204);
  EXPECT_EQ(Call("PUT", "/api/2/policies/org.acme:q", read_only, "admin")->status, 201);
}

TEST_F(ControlPlaneTest, DittoPolicyValidationErrors) {
  auto response = Call("PUT", "/api/2/policies/not-an-id", DittoPolicy("basic:admin"));
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:id.invalid");
  EXPECT_EQ(Call("GET", "/api/2/policies/not-an-id")->status, 400);
  EXPECT_EQ(Call("DELETE", "/api/2/policies/not-an-id")->status, 400);

  response = Call("PUT", "/api/2/policies/org.acme:p",
                  DittoPolicy("basic:admin", "basic:x", "org.acme:other"));
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:id.notsettable");

  response = Call("PUT", "/api/2/policies/org.acme:p", R"({"entries":{"e":{"resources":{}}}})");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.invalid");

  response = Call("PUT", "/api/2/policies/org.acme:p", R"({"entries":)");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "json.invalid");

  response = Call("PUT", "/api/2/policies/org.acme:p",
                  std::string(ControlPlane::kMaxDittoBodyBytes + 1, ' '));
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.toolarge");
  EXPECT_EQ(snapshot().version(), 1u);

  // The body's policyId may match; a percent-encoded colon works.
  response = Call("PUT", "/api/2/policies/org.acme%3Ap",
                  DittoPolicy("basic:admin", "basic:x", "org.acme:p"));
  EXPECT_EQ(response->status, 201) << response->body;
}

TEST_F(ControlPlaneTest, StoredPolicyDocumentIsNormalizedWithPolicyIdFirst) {
  const std::string body =
      R"(  {"entries":{"e":{"subjects":{"basic:admin":{"type":"t"}},"resources":{"policy:/":{"grant":["WRITE"],"revoke":[]}}}}, "_revision": 3 }  )";
  auto response = Call("PUT", "/api/2/policies/ns:p", body);
  ASSERT_EQ(response->status, 201);
  EXPECT_EQ(
      response->body,
      R"({"policyId":"ns:p","entries":{"e":{"subjects":{"basic:admin":{"type":"t"}},"resources":{"policy:/":{"grant":["WRITE"],"revoke":[]}}}},"_revision":3})");
  EXPECT_EQ(snapshot().FindStoredDittoPolicy("ns:p")->document, response->body);
}

// ---- Things ---------------------------------------------------------------------------

TEST_F(ControlPlaneTest, ThingCreateReadUpdateDelete) {
  CreatePrincipal("alice");
  CreatePrincipal("bob");
  CreatePrincipal("carol");
  CreatePolicy("org.acme:p", DittoPolicy("basic:alice", "basic:bob"));

  auto response = Call("PUT", "/api/2/things/org.acme:lamp",
                       R"({"policyId":"org.acme:p","attributes":{"room":"kitchen","n":[1,2]},)"
                       R"("features":{"light":{"properties":{"on":true}}},"_revision":9})",
                       "alice");
  ASSERT_EQ(response->status, 201) << response->body;
  EXPECT_EQ(
      response->body,
      R"({"thingId":"org.acme:lamp","policyId":"org.acme:p","attributes":{"room":"kitchen","n":[1,2]},"features":{"light":{"properties":{"on":true}}}})");
  const Thing* thing = snapshot().FindThing("org.acme:lamp");
  ASSERT_NE(thing, nullptr);
  EXPECT_EQ(thing->policy_id, "org.acme:p");
  EXPECT_EQ(thing->json, response->body);

  // GET: writer and reader yes, stranger 404, admin always.
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:lamp", "", "alice")->body, thing->json);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:lamp", "", "bob")->status, 200);
  response = Call("GET", "/api/2/things/org.acme:lamp", "", "carol");
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notfound");
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:lamp", "", "admin")->status, 200);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:none", "", "admin")->status, 404);

  // Update: reader 403, stranger 404, writer 204 (policyId kept when absent).
  response = Call("PUT", "/api/2/things/org.acme:lamp", R"({"attributes":{}})", "bob");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notmodifiable");
  response = Call("PUT", "/api/2/things/org.acme:lamp", R"({"attributes":{}})", "carol");
  EXPECT_EQ(response->status, 404);
  response = Call("PUT", "/api/2/things/org.acme:lamp",
                  R"({"thingId":"org.acme:lamp","attributes":{"room":"hall"}})", "alice");
  ASSERT_EQ(response->status, 204) << response->body;
  EXPECT_EQ(snapshot().FindThing("org.acme:lamp")->json,
            R"({"thingId":"org.acme:lamp","policyId":"org.acme:p","attributes":{"room":"hall"}})");

  // Delete: stranger 404, reader 403, writer 204.
  EXPECT_EQ(Call("DELETE", "/api/2/things/org.acme:lamp", "", "carol")->status, 404);
  response = Call("DELETE", "/api/2/things/org.acme:lamp", "", "bob");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notdeletable");
  EXPECT_EQ(Call("DELETE", "/api/2/things/org.acme:lamp", "", "alice")->status, 204);
  EXPECT_EQ(snapshot().FindThing("org.acme:lamp"), nullptr);
  EXPECT_EQ(Call("DELETE", "/api/2/things/org.acme:lamp", "", "alice")->status, 404);
}

TEST_F(ControlPlaneTest, ThingCreationRules) {
  CreatePrincipal("alice");
  CreatePolicy("org.acme:mine", DittoPolicy("basic:alice"));
  CreatePolicy("org.acme:theirs", DittoPolicy("basic:bob", "basic:alice"));

  auto response = Call("PUT", "/api/2/things/org.acme:t", R"({"attributes":{}})", "alice");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notcreatable");

  response = Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:missing"})", "admin");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notcreatable");
  EXPECT_NE(response->body.find("org.acme:missing"), std::string::npos);

  // Only READ on thing:/ in the referenced policy: not creatable by alice.
  response = Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:theirs"})", "alice");
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(CheckedErrorCode(*response), "things:thing.notmodifiable");

  CreateThing("org.acme:t", "org.acme:mine", "alice");
  // Moving it to a policy that does not let alice write is refused; to a missing one too.
  response = Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:theirs"})", "alice");
  EXPECT_EQ(response->status, 403);
  response = Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:gone"})", "alice");
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "policies:policy.notfound");
  // Admin may move it.
  EXPECT_EQ(Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:theirs"})")->status,
            204);
  EXPECT_EQ(snapshot().FindThing("org.acme:t")->policy_id, "org.acme:theirs");
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:t", "", "alice")->status, 200);  // READ only now
  EXPECT_EQ(Call("DELETE", "/api/2/things/org.acme:t", "", "alice")->status, 403);
}

TEST_F(ControlPlaneTest, ThingValidationErrors) {
  CreatePolicy("org.acme:p", DittoPolicy("basic:admin"));
  struct Case {
    std::string path, body;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"/api/2/things/no-colon", R"({"policyId":"org.acme:p"})", 400, "things:id.invalid"},
      {"/api/2/things/-bad:x", R"({"policyId":"org.acme:p"})", 400, "things:id.invalid"},
      {"/api/2/things/org.acme:a%2Fb", R"({"policyId":"org.acme:p"})", 400, "things:id.invalid"},
      {"/api/2/things/org.acme:%", R"({"policyId":"org.acme:p"})", 400, "things:id.invalid"},
      {"/api/2/things/org.acme:" + std::string(300, 'x'), R"({"policyId":"org.acme:p"})", 400,
       "things:id.invalid"},
      {"/api/2/things/org.acme:t", R"({"thingId":"org.acme:other","policyId":"org.acme:p"})", 400,
       "things:id.notsettable"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","attributes":[1]})", 400,
       "json.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","features":{"f":1}})", 400,
       "json.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","features":{"":{}}})", 400,
       "things:feature.id.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","definition":5})", 400,
       "json.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","colour":"red"})", 400,
       "json.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":7})", 400, "json.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"no-colon"})", 400, "policies:id.invalid"},
      {"/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","attributes":{"a":1,"a":2}})", 400,
       "json.invalid"},
      {"/api/2/things/org.acme:t", "[]", 400, "json.invalid"},
      {"/api/2/things/org.acme:t", "", 400, "json.invalid"},
      {"/api/2/things/org.acme:t", std::string(ControlPlane::kMaxDittoBodyBytes + 1, ' '), 413,
       "things:thing.toolarge"},
  };
  for (const Case& c : cases) {
    auto response = Call("PUT", c.path, c.body);
    EXPECT_EQ(response->status, c.status) << c.path << " " << c.body.substr(0, 80);
    EXPECT_EQ(CheckedErrorCode(*response), c.code) << c.path << " " << c.body.substr(0, 80);
  }
  // Nesting deeper than the parser allows is refused before anything walks it.
  std::string deep = R"({"policyId":"org.acme:p","attributes":{"a":)";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}}";
  auto response = Call("PUT", "/api/2/things/org.acme:t", deep);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(CheckedErrorCode(*response), "json.invalid");

  auto unknown = Call("PUT", "/api/2/things/org.acme:t", R"({"policyId":"org.acme:p","colour":1})");
  EXPECT_NE(unknown->body.find("colour"), std::string::npos);
  EXPECT_EQ(snapshot().thing_count(), 0u);

  // Valid edge cases: empty namespace, definition, percent-encoded ID.
  EXPECT_EQ(Call("PUT", "/api/2/things/:lamp", R"({"policyId":"org.acme:p"})")->status, 201);
  EXPECT_EQ(Call("PUT", "/api/2/things/org.acme%3Alamp",
                 R"({"policyId":"org.acme:p","definition":"a:b:1"})")
                ->status,
            201);
  EXPECT_NE(snapshot().FindThing("org.acme:lamp"), nullptr);
}

TEST_F(ControlPlaneTest, ThingsOfADeletedPolicyAreAdminOnly) {
  CreatePrincipal("alice");
  CreatePolicy("org.acme:p", DittoPolicy("basic:alice"), "alice");
  CreateThing("org.acme:t", "org.acme:p", "alice");
  ASSERT_EQ(Call("DELETE", "/api/2/policies/org.acme:p", "", "alice")->status, 204);
  const Thing* thing = snapshot().FindThing("org.acme:t");
  ASSERT_NE(thing, nullptr);
  EXPECT_EQ(snapshot().FindThingPolicy(*thing), nullptr);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:t", "", "alice")->status, 404);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:t", "", "admin")->status, 200);
}

// ---- anonymous mode -------------------------------------------------------------------

TEST_F(ControlPlaneTest, AnonymousModeUsesTheAnonymousSubject) {
  Reopen(/*anonymous=*/true, "");
  ASSERT_NE(snapshot().anonymous(), nullptr);
  EXPECT_TRUE(Allowed(*snapshot().anonymous(), policy::IotAction::kConnect, "client/x"));

  // No admin password this time, but the admin from SetUp persisted.
  ASSERT_NE(snapshot().FindPrincipal("admin"), nullptr);
  EXPECT_EQ(Call("GET", "/admin/principals/admin", "", "")->status, 403);

  CreatePolicy("org.acme:open", DittoPolicy("anonymous"), "");  // anonymous creates its own
  CreateThing("org.acme:open", "org.acme:open", "");
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:open", "", "")->status, 200);
  CreatePolicy("org.acme:closed", DittoPolicy("basic:admin"));
  CreateThing("org.acme:closed", "org.acme:closed");
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:closed", "", "")->status, 404);
}

// ---- durability and publication -------------------------------------------------------

TEST_F(ControlPlaneTest, EverythingAcknowledgedSurvivesARestart) {
  ASSERT_EQ(Call("PUT", "/admin/iot-policies/p1", std::string(kPublishA))->status, 201);
  CreatePrincipal("alice", R"(,"subjects":["google:alice"],"iotPolicies":["p1"])");
  CreatePolicy("org.acme:p", DittoPolicy("basic:alice"));
  CreateThing("org.acme:t", "org.acme:p");
  CreateThing("org.acme:gone", "org.acme:p");
  ASSERT_EQ(Call("DELETE", "/api/2/things/org.acme:gone")->status, 204);

  Reopen(/*anonymous=*/false, "new-admin-password");
  const Principal* alice = snapshot().FindPrincipal("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_TRUE(policy::VerifyPassword(alice->password_hash, "pw-alice"));
  EXPECT_EQ(alice->subjects, (std::vector<std::string>{"basic:alice", "google:alice"}));
  EXPECT_TRUE(Allowed(*alice, policy::IotAction::kPublish, "topic/a"));
  EXPECT_EQ(Call("GET", "/admin/iot-policies/p1")->body, kPublishA);
  ASSERT_NE(snapshot().FindDittoPolicy("org.acme:p"), nullptr);
  ASSERT_NE(snapshot().FindThing("org.acme:t"), nullptr);
  EXPECT_EQ(snapshot().FindThing("org.acme:t")->policy_id, "org.acme:p");
  EXPECT_EQ(snapshot().FindThing("org.acme:gone"), nullptr);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:t", "", "alice")->status, 200);
  // The admin password was reset.
  const Principal* admin = snapshot().FindPrincipal("admin");
  EXPECT_TRUE(policy::VerifyPassword(admin->password_hash, "new-admin-password"));
  EXPECT_FALSE(policy::VerifyPassword(admin->password_hash, kAdminPassword));
}

TEST_F(ControlPlaneTest, OpenRefusesAStoredDocumentThatNoLongerValidates) {
  CreatePolicy("org.acme:p", DittoPolicy("basic:admin"));
  plane_.reset();
  {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(Store::Open(temp_.path(), &store).ok());
    ASSERT_TRUE(store->PutDittoPolicy("org.acme:p", R"({"entries":5})").ok());
  }
  ControlPlane plane(ControlPlane::Options{temp_.path(), "", false, 0});
  std::string error;
  EXPECT_FALSE(plane.Open(&error));
  EXPECT_NE(error.find("org.acme:p"), std::string::npos) << error;
}

TEST_F(ControlPlaneTest, EveryWritePublishesANewSnapshotThatSharesUnchangedTables) {
  Reopen(false, "", /*shard_count=*/2);
  std::vector<const SecuritySnapshot*> published;
  plane_->SetPublisher([&](const SecuritySnapshot* s) { published.push_back(s); });
  const SecuritySnapshot* first = plane_->Current();
  EXPECT_EQ(first->references(), 3u);  // two shards + the control plane

  CreatePolicy("org.acme:p", DittoPolicy("basic:admin"));
  CreateThing("org.acme:t", "org.acme:p");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published.back(), plane_->Current());
  EXPECT_EQ(published[0]->version(), first->version() + 1);
  EXPECT_EQ(published[1]->version(), first->version() + 2);
  // The Thing write copied only the Thing table.
  EXPECT_EQ(published[1]->tables().principals, published[0]->tables().principals);
  EXPECT_EQ(published[1]->tables().ditto_policies, published[0]->tables().ditto_policies);
  EXPECT_NE(published[1]->tables().things, published[0]->tables().things);
  EXPECT_EQ(published[0]->tables().principals, first->tables().principals);

  // Failed requests publish nothing.
  EXPECT_EQ(Call("PUT", "/api/2/things/org.acme:t", "nope")->status, 400);
  EXPECT_EQ(Call("GET", "/api/2/things/org.acme:t")->status, 200);
  EXPECT_EQ(published.size(), 2u);

  // The control plane dropped its references to replaced snapshots; the shards hold theirs.
  EXPECT_EQ(first->references(), 2u);
  EXPECT_EQ(published[0]->references(), 2u);
  EXPECT_EQ(published[1]->references(), 3u);
  // Two shards switch to the newest and let go of the older ones.
  for (int shard = 0; shard < 2; ++shard) {
    first->Release();
    published[0]->Release();
  }
  // The newest: shards release at shutdown, the control plane in its destructor.
  published[1]->Release();
  published[1]->Release();
  EXPECT_EQ(published[1]->references(), 1u);
}

// ---- the control thread ---------------------------------------------------------------

TEST_F(ControlPlaneTest, ThreadAnswersEveryRequestFromEveryProducer) {
  CreatePolicy("org.acme:p", DittoPolicy("basic:admin"));
  std::mutex mutex;
  std::vector<std::unique_ptr<Response>> responses;
  std::set<std::thread::id> responder_threads;
  plane_->SetResponder([&](std::unique_ptr<Response> response) {
    std::lock_guard<std::mutex> lock(mutex);
    responder_threads.insert(std::this_thread::get_id());
    responses.push_back(std::move(response));
  });
  plane_->Start();
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        auto request = std::make_unique<Request>();
        request->shard = static_cast<uint16_t>(p);
        request->token = static_cast<uint64_t>(p * 1000 + i);
        request->method = "PUT";
        request->path = "/api/2/things/org.acme:t" + std::to_string(p) + "-" + std::to_string(i);
        request->body = R"({"policyId":"org.acme:p"})";
        request->principal = "admin";
        plane_->Submit(std::move(request));
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  plane_->Stop();
  plane_->Stop();  // idempotent

  ASSERT_EQ(responses.size(), static_cast<size_t>(kProducers * kPerProducer));
  std::set<uint64_t> tokens;
  for (const auto& response : responses) {
    EXPECT_EQ(response->status, 201);
    EXPECT_EQ(response->token / 1000, response->shard);
    tokens.insert(response->token);
  }
  EXPECT_EQ(tokens.size(), responses.size());
  ASSERT_EQ(responder_threads.size(), 1u);
  EXPECT_NE(*responder_threads.begin(), std::this_thread::get_id());
  EXPECT_EQ(plane_->Current()->thing_count(), static_cast<size_t>(kProducers * kPerProducer));
}

// ---- robustness -----------------------------------------------------------------------

// Random paths and mutated bodies never crash, and every answer is well-formed.
TEST_F(ControlPlaneTest, GarbageNeverCrashesAndAlwaysGetsAWellFormedAnswer) {
  CreatePrincipal("alice");
  CreatePolicy("org.acme:p", DittoPolicy("basic:alice"));
  CreateThing("org.acme:t", "org.acme:p");
  const std::vector<std::string> seeds = {
      DittoPolicy("basic:alice", "basic:bob", "org.acme:p"),
      R"({"thingId":"org.acme:t","policyId":"org.acme:p","attributes":{"a":[1,{"b":null}]},"features":{"f":{"properties":{}}}})",
      std::string(kPublishA),
      R"({"password":"pw","subjects":["s"],"iotPolicies":[]})",
  };
  const std::vector<std::string> paths = {
      "/api/2/policies/org.acme:p",   "/api/2/things/org.acme:t", "/admin/iot-policies/p",
      "/api/2/things/org.acme:%41%3", "/api/2/policies/%00:x",    "/admin/principals/%C3",
  };
  const std::vector<std::string> methods = {"PUT", "GET", "DELETE", "PUT", "POST"};
  const std::vector<std::string> callers = {"alice", "admin", "", "nobody"};
  std::mt19937 random(12345);
  simdjson::dom::parser parser;
  const std::set<int> statuses = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413};
  for (int i = 0; i < 3000; ++i) {
    std::string body = seeds[random() % seeds.size()];
    const int mutations = static_cast<int>(random() % 4);
    for (int m = 0; m < mutations && !body.empty(); ++m) {
      const size_t at = random() % body.size();
      switch (random() % 3) {
        case 0:
          body[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          body.erase(at, random() % 8);
          break;
        case 2:
          body.insert(at, body.substr(random() % body.size(), random() % 16));
          break;
      }
    }
    std::string path = paths[random() % paths.size()];
    // Keep argon2id hashing (slow by design) out of the loop: principals only as non-admin.
    std::string caller = callers[random() % callers.size()];
    if (i % 7 == 0) path = "/admin/principals/x";
    if (path.rfind("/admin/principals/", 0) == 0 && caller == "admin") caller = "alice";
    auto response = Call(methods[random() % methods.size()], path, body, caller);
    ASSERT_TRUE(statuses.count(response->status)) << response->status << " " << response->body;
    if (response->status == 204) {
      EXPECT_TRUE(response->body.empty());
    } else {
      simdjson::dom::element root;
      ASSERT_EQ(parser.parse(response->body).get(root), simdjson::SUCCESS) << response->body;
    }
  }
}

}  // namespace
}  // namespace sb::control
