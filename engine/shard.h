// Shard: one pinned thread, one io_uring, and everything that belongs to it — the
// connections it receives for, the MQTT sessions whose client IDs hash to it (with their
// subscriptions and pending confirmations), its timers, counters and buffer pools.
//
// Share nothing: another shard never touches this object's state. Work from elsewhere
// arrives as MailItems in this shard's Inbox; work for elsewhere leaves through its Outbox
// at the end of each reactor turn, in one batch per destination. The only fields read by
// other threads are the Inbox, the ring fd (both fixed before threads start) and the
// counters (single-writer atomics).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/buffer_pool.h"
#include "engine/config.h"
#include "engine/connection.h"
#include "engine/control_plane.h"
#include "engine/credentials.h"
#include "engine/direct_message.h"
#include "engine/mailbox.h"
#include "engine/metrics.h"
#include "engine/reactor.h"
#include "engine/routing.h"
#include "engine/session.h"
#include "engine/timer_wheel.h"
#include "engine/message.h"
#include "net/http/parser.h"
#include "net/mqtt/codec.h"
#include "policy/iam_policy.h"

namespace sb::engine {

class ShardSet;
struct Session;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class Shard {
 public:
  Shard(ShardSet* set, uint16_t id, const Config* config);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Creates the ring (on the calling thread, which must be the shard's thread). Publishes
  // the ring fd for other shards' doorbells.
  bool Init(std::string* error);
  // The reactor loop; returns after a kStop item.
  void Run();

  uint16_t id() const { return id_; }
  Inbox& inbox() { return inbox_; }
  int ring_fd() const { return ring_fd_; }
  const ShardMetrics& metrics() const { return metrics_; }
  size_t session_count() const { return sessions_.size(); }

  // Appends bytes to a connection's output queue (used by the HTTP response writers).
  void QueueOutputBytes(Connection* c, std::string_view bytes);

  // The security state every shard starts with (before Run).
  void SetInitialSnapshot(const control::SecuritySnapshot* snapshot) { snapshot_ = snapshot; }

  // Listening sockets (SO_REUSEPORT, one pair per shard), set before Run.
  void SetListeners(int mqtt_fd, int http_fd) {
    mqtt_listen_fd_ = mqtt_fd;
    http_listen_fd_ = http_fd;
  }

 private:
  static constexpr uint32_t kHttpIdleTimeoutMs = 60000;
  static constexpr size_t kMaxPendingPerSession = 1000;
  enum class WriteResult : uint8_t { kOk, kTooLarge, kUnrepresentable };

  // --- reactor turn (shard.cc) ---
  void OnCompletion(const io_uring_cqe& cqe);
  void OnAccept(uint32_t listener, const io_uring_cqe& cqe);
  void OnRecv(Connection* c, const io_uring_cqe& cqe);
  void OnSend(Connection* c, const io_uring_cqe& cqe);
  void DrainInbox();
  void OnMail(const MailItem& item);
  void OnUndeliverableMail(const MailItem& item);
  void FlushOutputs();
  void CloseOverflowed();
  void FlushOutbox();
  void RearmReads();
  void UpdateClock();

  // --- connections (shard.cc) ---
  Connection* NewConnection(int fd, Protocol protocol);
  Connection* LookUp(uint64_t user_data);
  void ArmRecv(Connection* c);
  void PauseReading(Connection* c);
  void ResumeReading(Connection* c);
  uint32_t MaxParkedBytes() const;
  // Feeds bytes to the connection's protocol; returns how many were consumed. The
  // connection may be closed or handed off on return (check its state).
  size_t ProcessInput(Connection* c, const uint8_t* data, size_t size);
  void ProcessParkedInput(Connection* c);
  void QueueOutput(Connection* c, const void* data, size_t size);
  // Reserves `size` writable bytes at the end of the output queue (encoders write there),
  // then CommitOutput(size) makes them part of the queue.
  uint8_t* ReserveOutput(Connection* c, size_t size);
  void CommitOutput(Connection* c, size_t size);
  void CloseAfterFlush(Connection* c);
  void CloseConnection(Connection* c, const char* why);
  void MaybeFinalize(Connection* c);
  void ReleaseSlot(Connection* c);
  void HandOff(Connection* c, uint16_t owner, const uint8_t* data, size_t size);
  void Adopt(ConnectionHandoff* handoff);
  static void OnIdleTimer(Timer* timer);

  // --- HTTP (shard_http.cc) ---
  size_t ProcessProxyHeader(Connection* c, const uint8_t* data, size_t size);
  size_t ProcessHttp(Connection* c, const uint8_t* data, size_t size);
  void MaybeSendContinue(Connection* c, const http::RequestHead& head);
  // Returns false when the request is parked (not consumed: it is parsed again on resume).
  bool HandleHttpRequest(Connection* c, const http::RequestHead& head, std::string_view body);
  void HandleDirectMessage(Connection* c, const control::Principal* principal, std::string_view encoded_client_id,
                           const http::RequestHead& head, std::string_view body);
  void RespondUnauthorized(Connection* c, bool direct, bool bad_credentials);
  void RespondJson(Connection* c, int status, std::string_view json, bool close = false,
                   std::span<const http::HeaderField> extra = {});
  void RespondError(Connection* c, int status, std::string_view message, bool close);
  // A direct-message answer: {"message", "reason" (errors only), "traceId"}, counted by status.
  void RespondDirect(Connection* c, int status, std::string_view reason, std::string_view message, bool close = false,
                     uint64_t latency_us = 0, std::span<const http::HeaderField> extra = {});
  void RespondDirectOrPlainError(Connection* c, bool direct, int status, std::string_view reason,
                                 std::string message);
  void OnDirectResult(uint64_t token, uint64_t packed_outcome);
  std::string RenderMetrics() const;
  std::string NewTraceId();

  // --- MQTT (shard_mqtt.cc) ---
  size_t ProcessMqtt(Connection* c, const uint8_t* data, size_t size);
  void HandleMqttPacket(Connection* c, mqtt::PacketType type, uint8_t flags, std::span<const uint8_t> body);
  void RefuseConnect(Connection* c, const mqtt::Connect& connect, mqtt::ReasonCode reason, const char* why);
  void HandleConnect(Connection* c, const mqtt::Connect& connect, const control::Principal* principal);
  std::string AssignClientId();
  void HandlePublish(Connection* c, uint8_t flags, std::span<const uint8_t> body);
  void SendPuback(Connection* c, uint16_t packet_id, mqtt::ReasonCode reason);
  void HandlePuback(Session* s, uint16_t packet_id, uint8_t reason);
  void HandleSubscribe(Connection* c, uint8_t flags, std::span<const uint8_t> body);
  void HandleUnsubscribe(Connection* c, uint8_t flags, std::span<const uint8_t> body);
  // Encodes an MQTT packet straight into the connection's output queue.
  template <class Packet>
  void WritePacket(Connection* c, const Packet& packet, mqtt::Version version);
  void SendDisconnect(Connection* c, uint8_t reason);
  void ProtocolError(Connection* c, uint8_t reason, const char* why);
  // Ends the connection's session: answers its pending confirmations, drops its
  // subscriptions, publishes its Will if it still has one.
  void DetachSession(Connection* c);
  void PublishDeferredWills();
  bool RoutePublish(std::string_view publisher_id, std::string_view topic, std::span<const uint8_t> payload,
                    uint8_t qos, const ForwardedProperties& properties);
  void DeliverRouted(RoutedMessage* message);
  void DeliverToSession(Session* s, RoutedMessage* message, uint8_t qos);
  WriteResult WritePublish(Session* s, std::string_view topic, std::span<const uint8_t> payload, uint8_t qos,
                           uint16_t packet_id, const ForwardedProperties& properties);
  uint16_t AllocateInflight(Session* s);
  void FreeInflight(Session* s, uint16_t packet_id);
  static void OnConfirmationTimer(Timer* timer);
  void BroadcastInterest(std::string_view filter, bool gained);
  void ApplyInterestChange(InterestChange* change);
  void DeliverDirect(DirectRequest* request);

  // --- security (shard_security.cc) ---
  enum class AuthResult : uint8_t { kOk, kPending, kBadCredentials, kNoCredentials };
  // Checks a name/password against the snapshot; kPending parks the caller until the
  // verifier answers (the connection is resumed from its parked input).
  AuthResult CheckCredentials(Connection* c, std::string_view name, std::string_view password,
                              const control::Principal** principal);
  AuthResult AuthenticateHttp(Connection* c, const http::RequestHead& head, const control::Principal** principal);
  AuthResult AuthenticateMqtt(Connection* c, const mqtt::Connect& connect, const control::Principal** principal);
  void OnCredentialVerdict(VerifyJob* job);
  void OnSnapshot(const control::SecuritySnapshot* snapshot);
  void ForwardToControlPlane(Connection* c, const http::RequestHead& head, std::string_view body,
                             const control::Principal* principal);
  void OnAdminResponse(control::ControlPlane::Response* response);
  // The session's principal in the current snapshot (nullptr: none), re-read with everything
  // the session caches of it when the snapshot changed.
  const control::Principal* PrincipalOf(Session* s);
  // Caches `principal` (of the current snapshot) and what decisions need of it in `s`.
  void BindPrincipal(Session* s, const control::Principal* principal);
  // IAM decision for `principal` on the resource `name` of the action's type ("client/<name>",
  // "topic/<name>", "topicfilter/<name>": policy::IotActionResourcePrefix) (admin: always;
  // none: never).
  bool Allowed(const control::Principal* principal, policy::IotAction action, std::string_view name,
               std::string_view client_id, std::string_view thing_name,
               std::optional<std::string_view> topic = std::nullopt);
  // The same for a connected device, from what its session caches of its principal.
  bool SessionAllowed(Session* s, policy::IotAction action, std::string_view name);
  // The IAM decision itself; counts denials.
  bool IamAllowed(const policy::IamPoliciesView& iam, policy::IotAction action, std::string_view name,
                  std::string_view client_id, std::string_view thing_name,
                  std::optional<std::string_view> topic);
  std::string_view ThingNameFor(std::string_view client_id) const;
  Connection* AwaitingConnection(uint64_t token, Connection::Awaiting what);
  static uint64_t TokenOf(const Connection* c) { return (uint64_t(c->generation) << 32) | c->index; }
  void Park(Connection* c, Connection::Awaiting what);

  // --- cross-shard ---
  void Send(uint16_t shard, MailItem item);
  uint16_t OwnerOf(std::string_view client_id) const;
  void ReplyDirect(uint16_t origin, uint64_t token, DirectOutcome outcome, uint8_t puback_reason = 0);

  // --- draining ---
  void BeginDrain();
  void FinishDrain();
  static void OnDrainTimer(Timer* timer);

  ShardSet* set_;
  uint16_t id_;
  const Config* config_;
  Reactor reactor_;
  int ring_fd_ = -1;
  Inbox inbox_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<moodycamel::ConsumerToken> consumer_token_;
  std::vector<MailItem> local_mail_;       // mail from this shard to itself, next turn
  bool inbox_backlog_ = false;
  TimerWheel timers_;
  BufferPool buffers_;
  ShardMetrics metrics_;
  uint64_t now_ms_ = 0;
  uint64_t now_us_ = 0;

  int mqtt_listen_fd_ = -1;
  int http_listen_fd_ = -1;
  bool accepting_ = true;
  bool draining_ = false;
  bool drained_ = false;
  bool stopping_ = false;
  // The timer knows its shard: Shard is not standard-layout, so offsetof cannot find it.
  struct DrainTimer : Timer {
    Shard* shard = nullptr;
  };
  DrainTimer drain_timer_;
  size_t pending_confirmations_ = 0;       // direct messages waiting for a PUBACK here

  std::vector<Connection*> connections_;   // slot table, index = Connection::index
  std::vector<uint32_t> free_slots_;
  size_t live_connections_ = 0;
  std::vector<Connection*> dirty_;         // connections with output to flush
  std::vector<Connection*> rearm_;         // connections whose recv must be re-armed
  std::vector<Connection*> overflowed_;    // output queue past the hard limit: close this turn

  // MQTT sessions owned here, keyed by client ID (the key views the session's own string).
  std::unordered_map<std::string_view, Session*, StringHash, std::equal_to<>> sessions_;
  Routing routing_;                        // local subscriptions + replicated interest
  uint64_t delivery_epoch_ = 0;
  std::vector<Session*> delivery_targets_;  // scratch for DeliverRouted
  std::vector<mqtt::ReasonCode> reason_scratch_;
  struct DeferredWill {
    std::string client_id;
    std::unique_ptr<WillMessage> will;
  };
  std::vector<DeferredWill> deferred_wills_;  // published at the start of the next turn

  const control::SecuritySnapshot* snapshot_ = nullptr;  // released when replaced
  CredentialCache credentials_;
  std::string resource_scratch_;           // "topic/<t>" etc. for IAM decisions
  std::string auth_scratch_;               // decoded Basic credentials

  http::RequestHead scratch_head_;         // parse target for HTTP heads (large; one per shard)
  std::string body_scratch_;               // de-chunked request bodies
  uint64_t trace_counter_ = 0;
  uint64_t assigned_id_counter_ = 0;
};

}  // namespace sb::engine
