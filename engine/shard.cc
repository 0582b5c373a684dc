#include "engine/shard.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>

#include "engine/log.h"
#include "engine/session.h"
#include "engine/shard_set.h"

namespace sb::engine {

namespace {
constexpr uint32_t kMqttListener = 0;
constexpr uint32_t kHttpListener = 1;
constexpr size_t kMaxMailPerTurn = 4096;

Connection* ConnectionOfIdleTimer(Timer* timer) {
  return reinterpret_cast<Connection*>(reinterpret_cast<char*>(timer) - offsetof(Connection, idle_timer));
}
}  // namespace

Shard::Shard(ShardSet* set, uint16_t id, const Config* config)
    : set_(set),
      id_(id),
      config_(config),
      inbox_(set->size()),
      timers_(10, 1024),
      buffers_(4096, 4096) {
  drain_timer_.callback = &Shard::OnDrainTimer;
  drain_timer_.shard = this;
  UpdateClock();
  timers_.Start(now_ms_);
}

Shard::~Shard() {
  for (Connection* c : connections_) {
    if (c->state != ConnState::kFree && c->fd >= 0) ::close(c->fd);
    buffers_.Release(c->input);
    buffers_.Release(c->out);
    buffers_.Release(c->sending);
    delete c;
  }
  for (auto& [id, session] : sessions_) delete session;
}

bool Shard::Init(std::string* error) {
  Reactor::Options options;
  if (!reactor_.Init(options, error)) return false;
  ring_fd_ = reactor_.RingFd();
  return true;
}

void Shard::UpdateClock() {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  now_us_ = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  now_ms_ = now_us_ / 1000;
}

void Shard::Run() {
  std::vector<Inbox*> inboxes;
  for (size_t i = 0; i < set_->size(); ++i) inboxes.push_back(&set_->shard(i).inbox());
  outbox_ = std::make_unique<Outbox>(std::move(inboxes), id_);
  consumer_token_ = std::make_unique<moodycamel::ConsumerToken>(inbox_.queue());
  UpdateClock();
  if (mqtt_listen_fd_ >= 0) reactor_.AcceptMultishot(mqtt_listen_fd_, UserData::Make(Op::kAccept, kMqttListener));
  if (http_listen_fd_ >= 0) reactor_.AcceptMultishot(http_listen_fd_, UserData::Make(Op::kAccept, kHttpListener));

  while (true) {
    DrainInbox();
    if (stopping_) break;
    if (!deferred_wills_.empty()) PublishDeferredWills();
    UpdateClock();
    timers_.Advance(now_ms_);
    FlushOutbox();
    CloseOverflowed();
    FlushOutputs();
    reactor_.PublishRecycledBuffers();
    RearmReads();
    int timeout = static_cast<int>(timers_.MillisUntilNextTick(now_ms_));
    if (inbox_backlog_ || !local_mail_.empty() || !deferred_wills_.empty()) timeout = 0;
    reactor_.SubmitAndWait(timeout);
    UpdateClock();
    reactor_.ForEachCompletion([this](const io_uring_cqe& cqe) { OnCompletion(cqe); });
  }
  // Stopped: whatever is still open goes away now (drain already said goodbye).
  for (Connection* c : connections_) {
    if (c->state == ConnState::kFree) continue;
    if (c->session) DetachSession(c);
    ::close(c->fd);
    c->fd = -1;
    c->state = ConnState::kFree;
  }
  if (snapshot_) {
    snapshot_->Release();
    snapshot_ = nullptr;
  }
}

// ---------------------------------------------------------------------------------------
// Completions

void Shard::OnCompletion(const io_uring_cqe& cqe) {
  const uint64_t ud = cqe.user_data;
  switch (UserData::OpOf(ud)) {
    case Op::kAccept:
      OnAccept(UserData::IndexOf(ud), cqe);
      return;
    case Op::kRecv: {
      Connection* c = LookUp(ud);
      if (!c) {
        // A completion for a connection that is gone: give its buffer back.
        if (cqe.flags & IORING_CQE_F_BUFFER) reactor_.RecycleBuffer(uint16_t(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
        return;
      }
      OnRecv(c, cqe);
      return;
    }
    case Op::kSend: {
      if (Connection* c = LookUp(ud)) OnSend(c, cqe);
      return;
    }
    case Op::kMailbox:   // the doorbell: the inbox is drained at the top of every turn
    case Op::kCancel:
    case Op::kWakeup:
      return;
  }
}

Connection* Shard::LookUp(uint64_t ud) {
  uint32_t index = UserData::IndexOf(ud);
  if (index >= connections_.size()) return nullptr;
  Connection* c = connections_[index];
  if (c->state == ConnState::kFree || (c->generation & 0xFFFFFF) != UserData::GenerationOf(ud)) return nullptr;
  return c;
}

void Shard::OnAccept(uint32_t listener, const io_uring_cqe& cqe) {
  int listen_fd = listener == kMqttListener ? mqtt_listen_fd_ : http_listen_fd_;
  if (!(cqe.flags & IORING_CQE_F_MORE) && accepting_ && listen_fd >= 0) {
    reactor_.AcceptMultishot(listen_fd, UserData::Make(Op::kAccept, listener));
  }
  if (cqe.res < 0) {
    if (cqe.res != -ECANCELED && accepting_) LOG_WARN("shard=%u event=accept_failed error=\"%s\"", id_, std::strerror(-cqe.res));
    return;
  }
  int fd = cqe.res;
  if (!accepting_) {
    ::close(fd);
    return;
  }
  const size_t per_shard_limit = (config_->limits.max_connections + set_->size() - 1) / set_->size();
  if (live_connections_ >= per_shard_limit) {
    metrics_.connections_refused.Add();
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  metrics_.connections_accepted.Add();
  Protocol protocol = listener == kMqttListener ? Protocol::kMqtt : Protocol::kHttp;
  Connection* c = NewConnection(fd, protocol);
  bool proxy = protocol == Protocol::kMqtt ? config_->proxy_protocol_mqtt : config_->proxy_protocol_http;
  if (proxy) {
    c->state = ConnState::kProxyHeader;
  } else {
    c->state = protocol == Protocol::kMqtt ? ConnState::kAwaitConnect : ConnState::kActive;
  }
  // Until it has identified itself, a connection gets a deadline (slow-loris protection).
  uint32_t deadline = protocol == Protocol::kMqtt ? config_->limits.connect_timeout_ms : kHttpIdleTimeoutMs;
  timers_.Schedule(&c->idle_timer, now_ms_ + deadline);
  ArmRecv(c);
}

Connection* Shard::NewConnection(int fd, Protocol protocol) {
  Connection* c;
  if (!free_slots_.empty()) {
    c = connections_[free_slots_.back()];
    free_slots_.pop_back();
  } else {
    c = new Connection;
    c->index = static_cast<uint32_t>(connections_.size());
    connections_.push_back(c);
  }
  uint32_t generation = c->generation + 1;
  uint32_t index = c->index;
  c->~Connection();
  new (c) Connection();
  c->shard = this;
  c->index = index;
  c->generation = generation;
  c->fd = fd;
  c->protocol = protocol;
  c->last_activity_ms = now_ms_;
  c->idle_timer.callback = &Shard::OnIdleTimer;
  if (protocol == Protocol::kHttp) {
    c->sender_rate = TokenBucket(config_->limits.sender_rate, config_->limits.sender_burst);
    metrics_.connections_http.Add();
  } else {
    metrics_.connections_mqtt.Add();
  }
  ++live_connections_;
  return c;
}

void Shard::ArmRecv(Connection* c) {
  if (c->recv_armed || c->state == ConnState::kClosing || c->state == ConnState::kFree) return;
  // Before CONNECT an MQTT connection may still move to another shard, so it reads one
  // buffer at a time; afterwards (and for HTTP) one multishot recv serves it for good.
  bool multishot = c->state == ConnState::kActive;
  reactor_.Recv(c->fd, UserData::Make(Op::kRecv, c->index, c->generation), multishot);
  c->recv_armed = true;
  c->recv_multishot = multishot;
}

void Shard::PauseReading(Connection* c) {
  if (c->reading_paused) return;
  c->reading_paused = true;
  if (c->recv_armed) reactor_.Cancel(UserData::Make(Op::kRecv, c->index, c->generation));
}

void Shard::ResumeReading(Connection* c) {
  if (!c->reading_paused) return;
  c->reading_paused = false;
  if (!c->recv_armed) rearm_.push_back(c);
}

void Shard::RearmReads() {
  for (Connection* c : rearm_) {
    if (c->state == ConnState::kFree || c->state == ConnState::kClosing || c->reading_paused) continue;
    ArmRecv(c);
  }
  rearm_.clear();
}

void Shard::OnRecv(Connection* c, const io_uring_cqe& cqe) {
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) c->recv_armed = false;
  if (cqe.res == -ENOBUFS) {
    // Every receive buffer is in use: retry once this turn has given some back.
    metrics_.recv_buffer_exhausted.Add();
    if (!more) rearm_.push_back(c);
    return;
  }
  if (cqe.res <= 0) {
    if (cqe.flags & IORING_CQE_F_BUFFER) reactor_.RecycleBuffer(uint16_t(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    if (c->state == ConnState::kClosing) {
      MaybeFinalize(c);
    } else if (cqe.res == -ECANCELED && c->reading_paused) {
      // Paused on purpose; ResumeReading re-arms.
    } else {
      CloseConnection(c, cqe.res == 0 ? "peer closed" : "receive failed");
    }
    return;
  }
  const uint16_t buffer_id = uint16_t(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  const uint8_t* data = reactor_.BufferData(buffer_id);
  const size_t size = static_cast<size_t>(cqe.res);
  if (c->state == ConnState::kClosing) {
    reactor_.RecycleBuffer(buffer_id);
    MaybeFinalize(c);
    return;
  }
  c->last_activity_ms = now_ms_;
  if (c->input && c->input->readable() > 0) {
    BufferPool::Append(c->input, data, static_cast<uint32_t>(size));
    reactor_.RecycleBuffer(buffer_id);
    ProcessParkedInput(c);
  } else {
    size_t used = ProcessInput(c, data, size);
    if (used < size && c->state != ConnState::kFree && c->state != ConnState::kClosing) {
      if (!c->input) c->input = buffers_.Acquire(static_cast<uint32_t>(size - used));
      BufferPool::Append(c->input, data + used, static_cast<uint32_t>(size - used));
    }
    reactor_.RecycleBuffer(buffer_id);
  }
  if (c->state == ConnState::kFree || c->state == ConnState::kClosing) return;
  // Bound what a connection may park while it waits (pipelined HTTP behind a confirmation).
  if (c->input && c->input->readable() > MaxParkedBytes()) PauseReading(c);
  if (!c->recv_armed && !c->reading_paused) rearm_.push_back(c);
}

uint32_t Shard::MaxParkedBytes() const {
  const Limits& l = config_->limits;
  return l.http_max_head_bytes + std::max(l.http_max_body, l.max_direct_payload) + l.mqtt_max_packet;
}

void Shard::ProcessParkedInput(Connection* c) {
  while (c->input && c->input->readable() > 0 && c->state != ConnState::kFree && c->state != ConnState::kClosing) {
    ByteBuffer* in = c->input;
    size_t before = in->readable();
    size_t used = ProcessInput(c, in->read_ptr(), before);
    if (c->state == ConnState::kFree) return;  // handed off (the bytes went with it)
    if (c->input != in) return;                // released by a close
    in->read_offset += static_cast<uint32_t>(used);
    if (in->readable() == 0) {
      buffers_.Release(in);
      c->input = nullptr;
    }
    if (used == 0) break;  // waiting for more bytes, or parked behind an answer
  }
  if (c->reading_paused && (!c->input || c->input->readable() <= MaxParkedBytes() / 2)) ResumeReading(c);
}

size_t Shard::ProcessInput(Connection* c, const uint8_t* data, size_t size) {
  size_t used = 0;
  if (c->state == ConnState::kProxyHeader) {
    used = ProcessProxyHeader(c, data, size);
    if (c->state == ConnState::kProxyHeader || c->state == ConnState::kClosing || c->state == ConnState::kFree) return used;
  }
  if (c->protocol == Protocol::kHttp) return used + ProcessHttp(c, data + used, size - used);
  return used + ProcessMqtt(c, data + used, size - used);
}

// ---------------------------------------------------------------------------------------
// Output

uint8_t* Shard::ReserveOutput(Connection* c, size_t size) {
  if (!c->out) c->out = buffers_.Acquire(static_cast<uint32_t>(size));
  BufferPool::Reserve(c->out, static_cast<uint32_t>(size));
  return c->out->data + c->out->size;
}

void Shard::CommitOutput(Connection* c, size_t size) {
  c->out->size += static_cast<uint32_t>(size);
  // A peer that does not read cannot make us grow without bound: past twice the budget
  // (the soft limit already drops QoS 0 and refuses direct messages) it is disconnected at
  // the end of this turn, never in the middle of a handler.
  if (!c->overflowed && c->QueuedOutputBytes() > 2 * uint64_t(config_->limits.outbound_buffer_bytes) + config_->limits.mqtt_max_packet) {
    c->overflowed = true;
    overflowed_.push_back(c);
  }
  if (!c->in_dirty_list) {
    c->in_dirty_list = true;
    dirty_.push_back(c);
  }
}

void Shard::QueueOutput(Connection* c, const void* data, size_t size) {
  if (c->state == ConnState::kClosing || c->state == ConnState::kFree || size == 0) return;
  std::memcpy(ReserveOutput(c, size), data, size);
  CommitOutput(c, size);
}

void Shard::CloseOverflowed() {
  for (Connection* c : overflowed_) {
    if (c->state == ConnState::kFree || c->state == ConnState::kClosing) continue;
    metrics_.mqtt_slow_consumer_disconnects.Add();
    LOG_WARN("shard=%u event=slow_consumer_disconnected conn=%u queued_bytes=%u", id_, c->index, c->QueuedOutputBytes());
    CloseConnection(c, "output queue over its limit");
  }
  overflowed_.clear();
}

void Shard::FlushOutputs() {
  for (Connection* c : dirty_) {
    c->in_dirty_list = false;
    if (c->state == ConnState::kFree || c->send_in_flight || !c->out || c->out->readable() == 0) continue;
    c->sending = c->out;
    c->out = nullptr;
    reactor_.Send(c->fd, c->sending->read_ptr(), c->sending->readable(), UserData::Make(Op::kSend, c->index, c->generation));
    c->send_in_flight = true;
  }
  dirty_.clear();
}

void Shard::OnSend(Connection* c, const io_uring_cqe& cqe) {
  c->send_in_flight = false;
  if (cqe.res < 0) {
    if (c->state == ConnState::kClosing) MaybeFinalize(c);
    else CloseConnection(c, "send failed");
    return;
  }
  c->sending->read_offset += static_cast<uint32_t>(cqe.res);
  if (c->sending->readable() > 0) {
    // Partial send (socket buffer full): continue from where the kernel stopped.
    reactor_.Send(c->fd, c->sending->read_ptr(), c->sending->readable(), UserData::Make(Op::kSend, c->index, c->generation));
    c->send_in_flight = true;
    return;
  }
  buffers_.Release(c->sending);
  c->sending = nullptr;
  if (c->state == ConnState::kClosing) {
    MaybeFinalize(c);
    return;
  }
  if (c->out && c->out->readable() > 0) {
    if (!c->in_dirty_list) {
      c->in_dirty_list = true;
      dirty_.push_back(c);
    }
  } else if (c->close_after_flush) {
    CloseConnection(c, "closed after final response");
  }
}

// ---------------------------------------------------------------------------------------
// Closing

void Shard::CloseAfterFlush(Connection* c) {
  if (c->state == ConnState::kClosing || c->state == ConnState::kFree) return;
  c->close_after_flush = true;
  if (c->session) DetachSession(c);
  if (!c->send_in_flight && (!c->out || c->out->readable() == 0)) {
    CloseConnection(c, "closed after final response");
  }
}

void Shard::CloseConnection(Connection* c, const char* why) {
  if (c->state == ConnState::kClosing || c->state == ConnState::kFree) return;
  if (c->session) DetachSession(c);
  LOG_DEBUG("shard=%u event=close conn=%u reason=\"%s\"", id_, c->index, why);
  c->state = ConnState::kClosing;
  timers_.Cancel(&c->idle_timer);
  if (c->recv_armed || c->send_in_flight) {
    // Outstanding operations complete (with EOF/errors) once the socket is shut down.
    ::shutdown(c->fd, SHUT_RDWR);
  }
  MaybeFinalize(c);
}

void Shard::MaybeFinalize(Connection* c) {
  if (c->state != ConnState::kClosing || c->recv_armed || c->send_in_flight) return;
  ::close(c->fd);
  c->fd = -1;
  buffers_.Release(c->input);
  buffers_.Release(c->out);
  buffers_.Release(c->sending);
  c->input = c->out = c->sending = nullptr;
  ReleaseSlot(c);
}

void Shard::ReleaseSlot(Connection* c) {
  timers_.Cancel(&c->idle_timer);
  if (c->protocol == Protocol::kHttp) metrics_.connections_http.Sub();
  else metrics_.connections_mqtt.Sub();
  --live_connections_;
  c->state = ConnState::kFree;
  ++c->generation;
  free_slots_.push_back(c->index);
}

void Shard::OnIdleTimer(Timer* timer) {
  Connection* c = ConnectionOfIdleTimer(timer);
  Shard* self = c->shard;
  switch (c->state) {
    case ConnState::kProxyHeader:
    case ConnState::kAwaitConnect:
      self->CloseConnection(c, "no CONNECT / PROXY header in time");
      return;
    case ConnState::kActive:
      break;
    default:
      return;
  }
  uint64_t allowed_idle_ms;
  if (c->protocol == Protocol::kMqtt) {
    if (!c->session || c->session->keepalive_s == 0) return;
    allowed_idle_ms = uint64_t(c->session->keepalive_s) * 1500;  // keep-alive x 1.5
  } else {
    if (c->awaiting) {
      self->timers_.Schedule(timer, self->now_ms_ + kHttpIdleTimeoutMs);
      return;
    }
    allowed_idle_ms = kHttpIdleTimeoutMs;
  }
  uint64_t deadline = c->last_activity_ms + allowed_idle_ms;
  if (self->now_ms_ >= deadline) {
    if (c->protocol == Protocol::kMqtt) {
      self->metrics_.mqtt_keepalive_timeouts.Add();
      self->SendDisconnect(c, 0x8D);  // Keep Alive timeout (MQTT 5 only; 3.1.1 just closes)
      self->CloseAfterFlush(c);
    } else {
      self->CloseConnection(c, "idle");
    }
    return;
  }
  self->timers_.Schedule(timer, deadline);
}

// ---------------------------------------------------------------------------------------
// Moving an MQTT connection to the shard that owns its client ID

void Shard::HandOff(Connection* c, uint16_t owner, const uint8_t* data, size_t size) {
  auto* handoff = static_cast<ConnectionHandoff*>(std::malloc(sizeof(ConnectionHandoff) + size));
  if (!handoff) {
    CloseConnection(c, "out of memory during hand-off");
    return;
  }
  new (handoff) ConnectionHandoff();
  handoff->fd = c->fd;
  handoff->peer = c->peer;
  handoff->size = static_cast<uint32_t>(size);
  std::memcpy(handoff->bytes(), data, size);
  // The socket now belongs to the owner: forget it here without closing it. No operation is
  // outstanding (pre-CONNECT reads are single-shot and nothing has been sent yet).
  c->fd = -1;
  buffers_.Release(c->input);
  buffers_.Release(c->out);
  c->input = c->out = nullptr;
  metrics_.connections_handed_off.Add();
  ReleaseSlot(c);
  MailItem item{};
  item.kind = MailItem::Kind::kAdoptConnection;
  item.ptr = handoff;
  Send(owner, item);
}

void Shard::Adopt(ConnectionHandoff* handoff) {
  if (!accepting_) {
    ::close(handoff->fd);
    std::free(handoff);
    return;
  }
  Connection* c = NewConnection(handoff->fd, Protocol::kMqtt);
  c->peer = handoff->peer;
  c->state = ConnState::kAwaitConnect;
  timers_.Schedule(&c->idle_timer, now_ms_ + config_->limits.connect_timeout_ms);
  size_t used = ProcessInput(c, handoff->bytes(), handoff->size);
  if (used < handoff->size && c->state != ConnState::kFree && c->state != ConnState::kClosing) {
    c->input = buffers_.Acquire(handoff->size - static_cast<uint32_t>(used));
    BufferPool::Append(c->input, handoff->bytes() + used, handoff->size - static_cast<uint32_t>(used));
  }
  std::free(handoff);
  if (c->state != ConnState::kFree && c->state != ConnState::kClosing) ArmRecv(c);
}

// ---------------------------------------------------------------------------------------
// Mail

void Shard::Send(uint16_t shard, MailItem item) {
  if (shard == id_) {
    item.from_shard = id_;
    local_mail_.push_back(item);
  } else {
    outbox_->Stage(shard, item);
  }
}

void Shard::FlushOutbox() {
  outbox_->Flush(
      [this](uint16_t destination) {
        reactor_.Ring(set_->shard(destination).ring_fd(), UserData::Make(Op::kMailbox, id_));
      },
      [this](uint16_t, const MailItem& item) { OnUndeliverableMail(item); });
}

void Shard::OnUndeliverableMail(const MailItem& item) {
  // The queue could not grow (out of memory). Answer what someone waits for; drop the rest.
  switch (item.kind) {
    case MailItem::Kind::kDirectRequest: {
      auto* request = static_cast<DirectRequest*>(item.ptr);
      OnDirectResult(request->token, PackOutcome(DirectOutcome::kInternalError, 0));
      DirectRequest::Free(request);
      break;
    }
    case MailItem::Kind::kPublish:
      static_cast<RoutedMessage*>(item.ptr)->Release();
      break;
    case MailItem::Kind::kAdoptConnection: {
      auto* handoff = static_cast<ConnectionHandoff*>(item.ptr);
      ::close(handoff->fd);
      std::free(handoff);
      break;
    }
    case MailItem::Kind::kInterestChange:
      delete static_cast<InterestChange*>(item.ptr);
      break;
    case MailItem::Kind::kSnapshot:
      static_cast<const control::SecuritySnapshot*>(item.ptr)->Release();
      break;
    case MailItem::Kind::kAdminResponse:
      delete static_cast<control::ControlPlane::Response*>(item.ptr);
      break;
    case MailItem::Kind::kCredentialVerdict:
      delete static_cast<VerifyJob*>(item.ptr);
      break;
    default:
      break;
  }
  LOG_ERROR("shard=%u event=mail_dropped kind=%d", id_, int(item.kind));
}

void Shard::DrainInbox() {
  // Local mail first (it was produced by this shard during the last turn).
  for (size_t i = 0; i < local_mail_.size(); ++i) OnMail(local_mail_[i]);
  local_mail_.clear();
  inbox_.MarkDraining();
  MailItem items[256];
  size_t total = 0;
  inbox_backlog_ = false;
  while (true) {
    size_t n = inbox_.queue().try_dequeue_bulk(*consumer_token_, items, 256);
    if (n == 0) break;
    metrics_.mailbox_items_in.Add(n);
    for (size_t i = 0; i < n; ++i) OnMail(items[i]);
    total += n;
    if (total >= kMaxMailPerTurn) {
      inbox_backlog_ = true;  // let I/O have a turn; come straight back
      break;
    }
  }
}

void Shard::OnMail(const MailItem& item) {
  switch (item.kind) {
    case MailItem::Kind::kAdoptConnection:
      Adopt(static_cast<ConnectionHandoff*>(item.ptr));
      break;
    case MailItem::Kind::kDirectRequest:
      DeliverDirect(static_cast<DirectRequest*>(item.ptr));
      break;
    case MailItem::Kind::kDirectResult:
      OnDirectResult(item.a, item.b);
      break;
    case MailItem::Kind::kPublish:
      DeliverRouted(static_cast<RoutedMessage*>(item.ptr));
      break;
    case MailItem::Kind::kInterestChange:
      ApplyInterestChange(static_cast<InterestChange*>(item.ptr));
      break;
    case MailItem::Kind::kSnapshot:
      OnSnapshot(static_cast<const control::SecuritySnapshot*>(item.ptr));
      break;
    case MailItem::Kind::kAdminResponse:
      OnAdminResponse(static_cast<control::ControlPlane::Response*>(item.ptr));
      break;
    case MailItem::Kind::kCredentialVerdict:
      OnCredentialVerdict(static_cast<VerifyJob*>(item.ptr));
      break;
    case MailItem::Kind::kDrain:
      BeginDrain();
      break;
    case MailItem::Kind::kStop:
      stopping_ = true;
      break;
  }
}

uint16_t Shard::OwnerOf(std::string_view client_id) const {
  return OwnerShard(client_id, static_cast<uint16_t>(set_->size()));
}

void Shard::ReplyDirect(uint16_t origin, uint64_t token, DirectOutcome outcome, uint8_t puback_reason) {
  MailItem item{};
  item.kind = MailItem::Kind::kDirectResult;
  item.a = token;
  item.b = PackOutcome(outcome, puback_reason);
  Send(origin, item);
}

// ---------------------------------------------------------------------------------------
// Draining (SIGTERM)

void Shard::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  accepting_ = false;
  LOG_INFO("shard=%u event=drain_started pending_confirmations=%zu", id_, pending_confirmations_);
  for (int* fd : {&mqtt_listen_fd_, &http_listen_fd_}) {
    if (*fd >= 0) {
      ::shutdown(*fd, SHUT_RDWR);  // ends the multishot accept
      ::close(*fd);
      *fd = -1;
    }
  }
  if (pending_confirmations_ == 0) {
    FinishDrain();
  } else {
    timers_.Schedule(&drain_timer_, now_ms_ + config_->drain_grace_ms);
  }
}

void Shard::OnDrainTimer(Timer* timer) {
  static_cast<DrainTimer*>(timer)->shard->FinishDrain();
}

void Shard::FinishDrain() {
  if (drained_) return;
  drained_ = true;
  timers_.Cancel(&drain_timer_);
  // Say goodbye to every device (MQTT 5: 0x8B Server shutting down); pending confirmations
  // are answered by DetachSession.
  for (Connection* c : connections_) {
    if (c->state != ConnState::kActive && c->state != ConnState::kAwaitConnect) continue;
    if (c->protocol == Protocol::kMqtt) {
      if (c->session) SendDisconnect(c, 0x8B);
      CloseAfterFlush(c);
    } else if (!c->awaiting) {
      c->keep_alive = false;
      if (!c->input || c->input->readable() == 0) CloseAfterFlush(c);
    } else {
      c->keep_alive = false;  // closes after its answer arrives
    }
  }
  set_->NoteShardDrained();
}

}  // namespace sb::engine
