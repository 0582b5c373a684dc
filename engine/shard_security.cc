// The security side of a shard: authentication (with the credential cache and the
// off-shard verifier), IAM decisions, snapshot swaps and the hand-off of admin/Ditto
// resource requests to the control plane.
#include <cstring>

#include "engine/log.h"
#include "engine/session.h"
#include "engine/shard.h"
#include "engine/shard_set.h"
#include "net/http/encoding.h"
#include "net/http/response.h"

namespace sb::engine {

void Shard::Park(Connection* c, Connection::Awaiting what) {
  c->awaiting = true;
  c->awaiting_what = what;
  c->awaiting_since_us = now_us_;
}

Connection* Shard::AwaitingConnection(uint64_t token, Connection::Awaiting what) {
  uint32_t index = static_cast<uint32_t>(token);
  uint32_t generation = static_cast<uint32_t>(token >> 32);
  if (index >= connections_.size()) return nullptr;
  Connection* c = connections_[index];
  // The connection may have gone away (or its slot been reused) meanwhile.
  if (c->generation != generation || c->state == ConnState::kClosing || c->state == ConnState::kFree) return nullptr;
  if (!c->awaiting || c->awaiting_what != what) return nullptr;
  return c;
}

// ---------------------------------------------------------------------------------------
// Authentication

Shard::AuthResult Shard::CheckCredentials(Connection* c, std::string_view name, std::string_view password,
                                          const control::Principal** principal) {
  const control::Principal* p = snapshot_->FindPrincipal(name);
  if (!p || p->password_hash.empty()) {
    metrics_.auth_failures.Add();
    credentials_.RecordFailure(name, now_ms_);
    return AuthResult::kBadCredentials;
  }
  if (credentials_.Check(name, password, p->password_hash)) {
    *principal = p;
    return AuthResult::kOk;
  }
  if (!credentials_.MayTry(name, now_ms_)) {
    // Too many recent failures for this name: refuse without spending a verification.
    metrics_.auth_throttled.Add();
    return AuthResult::kBadCredentials;
  }
  auto job = std::make_unique<VerifyJob>();
  job->shard = id_;
  job->token = TokenOf(c);
  job->name.assign(name);
  job->stored_hash = p->password_hash;
  job->password.assign(password);
  metrics_.auth_verifications.Add();
  set_->verifier().Submit(std::move(job));
  Park(c, Connection::Awaiting::kCredentials);
  return AuthResult::kPending;
}

Shard::AuthResult Shard::AuthenticateHttp(Connection* c, const http::RequestHead& head,
                                          const control::Principal** principal) {
  auto header = http::FindHeader(head, "authorization");
  if (!header) {
    *principal = snapshot_->anonymous();
    return *principal ? AuthResult::kOk : AuthResult::kNoCredentials;
  }
  std::string_view value = *header;
  if (value.size() < 6 || !http::EqualsIgnoreCase(value.substr(0, 6), "basic ")) return AuthResult::kBadCredentials;
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  auth_scratch_.resize(http::Base64DecodedMaxSize(value.size()) + 3);
  auto n = http::Base64Decode(value, auth_scratch_.data(), auth_scratch_.size());
  if (!n) return AuthResult::kBadCredentials;
  std::string_view decoded(auth_scratch_.data(), *n);
  size_t colon = decoded.find(':');
  if (colon == std::string_view::npos) return AuthResult::kBadCredentials;
  return CheckCredentials(c, decoded.substr(0, colon), decoded.substr(colon + 1), principal);
}

Shard::AuthResult Shard::AuthenticateMqtt(Connection* c, const mqtt::Connect& connect,
                                          const control::Principal** principal) {
  if (!connect.username) {
    *principal = snapshot_->anonymous();
    return *principal ? AuthResult::kOk : AuthResult::kNoCredentials;
  }
  std::string_view password;
  if (connect.password) {
    password = std::string_view(reinterpret_cast<const char*>(connect.password->data()), connect.password->size());
  }
  return CheckCredentials(c, *connect.username, password, principal);
}

void Shard::OnCredentialVerdict(VerifyJob* raw) {
  std::unique_ptr<VerifyJob> job(raw);
  if (job->ok) {
    credentials_.Remember(job->name, job->digest, job->stored_hash);
  } else {
    metrics_.auth_failures.Add();
    credentials_.RecordFailure(job->name, now_ms_);
  }
  Connection* c = AwaitingConnection(job->token, Connection::Awaiting::kCredentials);
  if (!c) return;
  c->awaiting = false;
  c->awaiting_what = Connection::Awaiting::kNothing;
  if (!job->ok) {
    if (c->protocol == Protocol::kHttp) {
      // The parked request is answered in its route's style and the connection closed.
      bool direct = false;
      if (c->input) {
        std::string_view parked(reinterpret_cast<const char*>(c->input->read_ptr()), c->input->readable());
        http::Limits limits{config_->limits.http_max_head_bytes, config_->limits.http_max_headers};
        std::string_view id;
        direct = http::ParseRequestHead(parked, limits, &scratch_head_).status == http::ParseStatus::kComplete &&
                 MatchDirectRoute(scratch_head_.path, &id);
      }
      RespondUnauthorized(c, direct, /*bad_credentials=*/true);
      CloseAfterFlush(c);
    } else {
      mqtt::Connect connect;
      connect.protocol_level = c->mqtt_version ? c->mqtt_version : 4;
      RefuseConnect(c, connect, mqtt::ReasonCode::kBadUserNameOrPassword, "bad user name or password");
    }
    return;
  }
  // Resume: the parked request / CONNECT is parsed again and now hits the cache.
  ProcessParkedInput(c);
}

void Shard::RespondUnauthorized(Connection* c, bool direct, bool bad_credentials) {
  static const http::HeaderField kChallenge[] = {{"WWW-Authenticate", "Basic realm=\"switchboard\""}};
  const char* message = bad_credentials ? "The user name or password is not valid." : "Credentials are required.";
  if (direct) return RespondDirect(c, 401, "UNAUTHORIZED", message, false, 0, kChallenge);
  std::string json = std::string("{\"status\":401,\"error\":\"gateway:authentication.failed\",\"message\":\"") +
                     message + "\",\"description\":\"Check the credentials (HTTP Basic) and try again.\"}";
  RespondJson(c, 401, json, false, kChallenge);
}

// ---------------------------------------------------------------------------------------
// Authorization

std::string_view Shard::ThingNameFor(std::string_view client_id) const {
  // A client whose ID is a Thing ID is that Thing's connection (SPEC 3.1).
  return !client_id.empty() && snapshot_->FindThing(client_id) ? client_id : std::string_view();
}

void Shard::BindPrincipal(Session* s, const control::Principal* principal) {
  s->principal = principal;
  s->iam = principal ? principal->iam.view() : policy::IamPoliciesView();
  s->principal_admin = principal && principal->admin;
  s->is_thing = !ThingNameFor(s->client_id).empty();
  s->principal_version = snapshot_->version();
}

const control::Principal* Shard::PrincipalOf(Session* s) {
  // Re-read once per snapshot, not per decision.
  if (s->principal_version != snapshot_->version()) {
    BindPrincipal(s, snapshot_->FindPrincipalOrAnonymous(s->principal_name));
  }
  return static_cast<const control::Principal*>(s->principal);
}

bool Shard::SessionAllowed(Session* s, policy::IotAction action, std::string_view name) {
  if (!PrincipalOf(s)) return false;
  if (s->principal_admin) return true;
  return IamAllowed(s->iam, action, name, s->client_id, s->is_thing ? std::string_view(s->client_id) : "",
                    std::nullopt);
}

bool Shard::Allowed(const control::Principal* principal, policy::IotAction action, std::string_view name,
                    std::string_view client_id, std::string_view thing_name,
                    std::optional<std::string_view> topic) {
  if (!principal) return false;
  if (principal->admin) return true;
  return IamAllowed(principal->iam.view(), action, name, client_id, thing_name, topic);
}

bool Shard::IamAllowed(const policy::IamPoliciesView& iam, policy::IotAction action, std::string_view name,
                       std::string_view client_id, std::string_view thing_name,
                       std::optional<std::string_view> topic) {
  resource_scratch_.assign(policy::IotActionResourcePrefix(action));
  resource_scratch_.append(name);
  policy::IamRequest request;
  request.action = action;
  request.resource = resource_scratch_;
  request.client_id = client_id;
  request.thing_name = thing_name;
  request.topic = topic;
  const bool allowed = iam.IsAllowed(request);
  if (!allowed) metrics_.iam_denials.Add();
  return allowed;
}

void Shard::OnSnapshot(const control::SecuritySnapshot* snapshot) {
  const control::SecuritySnapshot* old = snapshot_;
  snapshot_ = snapshot;
  if (old) old->Release();
}

// ---------------------------------------------------------------------------------------
// Admin and Ditto resources: executed by the control plane thread

void Shard::ForwardToControlPlane(Connection* c, const http::RequestHead& head, std::string_view body,
                                  const control::Principal* principal) {
  auto request = std::make_unique<control::ControlPlane::Request>();
  request->shard = id_;
  request->token = TokenOf(c);
  request->method.assign(head.method);
  request->path.assign(head.path);
  request->query.assign(head.query);
  request->body.assign(body);
  request->principal.assign(principal->name);
  Park(c, Connection::Awaiting::kAdminResponse);
  set_->control().Submit(std::move(request));
}

void Shard::OnAdminResponse(control::ControlPlane::Response* raw) {
  std::unique_ptr<control::ControlPlane::Response> response(raw);
  Connection* c = AwaitingConnection(response->token, Connection::Awaiting::kAdminResponse);
  if (!c) return;
  c->awaiting = false;
  c->awaiting_what = Connection::Awaiting::kNothing;
  struct Sink {
    Shard* shard;
    Connection* c;
    void Append(std::string_view bytes) { shard->QueueOutputBytes(c, bytes); }
  } sink{this, c};
  http::ResponseHead head;
  head.status = response->status;
  head.content_type = response->content_type;
  head.close_connection = !c->keep_alive;
  (void)http::WriteResponse(sink, head, response->body);
  if (!c->keep_alive) {
    CloseAfterFlush(c);
    return;
  }
  if (c->input && c->input->readable() > 0) ProcessParkedInput(c);
}

}  // namespace sb::engine
