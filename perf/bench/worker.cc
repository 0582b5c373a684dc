#include "perf/bench/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "perf/bench/alloc_counter.h"
#include "perf/bench/http_response.h"
#include "perf/bench/payload_stamp.h"

namespace sb::bench {
namespace {

// user_data of an SQE: connection index << 8 | operation.
enum Op : uint64_t { kOpConnect = 1, kOpRecv = 2, kOpSend = 3, kOpCancel = 4 };
constexpr uint64_t kEventTag = ~uint64_t{0};
constexpr uint64_t Tag(uint32_t ci, Op op) { return (uint64_t{ci} << 8) | op; }

constexpr uint64_t kHousekeepingNs = 100'000'000;
constexpr uint64_t kCloseGraceNs = 2'000'000'000;
constexpr uint32_t kMaxReconnectFailures = 3;

uint64_t Ns(double seconds) { return static_cast<uint64_t>(seconds * 1e9); }

// now - then, or 0 when `then` was taken after `now` (timestamps from later in the same
// loop iteration).
uint64_t Since(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

const char* RoleTag(Role role) {
  switch (role) {
    case Role::kDevice: return "dev";
    case Role::kSender: return "http";
    case Role::kPublisher: return "pub";
    case Role::kSubscriber: return "sub";
    case Role::kIdle: return "conn";
  }
  return "?";
}

char* Append(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

char* AppendNumber(char* out, uint64_t n) { return std::to_chars(out, out + 20, n).ptr; }

}  // namespace

Worker::Worker(unsigned id, const Plan& plan, Shared& shared)
    : id_(id), plan_(plan), shared_(shared), opt_(plan.options) {}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
  for (Conn& c : conns_) {
    if (c.fd >= 0) ::close(c.fd);
  }
  if (event_fd_ >= 0) ::close(event_fd_);
}

void Worker::AddConnection(Role role, uint32_t index, uint32_t first_stream, uint32_t stream_count) {
  Conn c;
  c.role = role;
  c.index = index;
  c.first_stream = first_stream;
  c.stream_count = (role == Role::kDevice || role == Role::kSubscriber) ? stream_count : 0;
  conns_.push_back(c);
}

void Worker::Start() {
  const bool direct = opt_.scenario == Scenario::kDirect;
  // The largest message we build: payload plus an MQTT or HTTP head (prefixes <= 64 bytes).
  max_message_ = size_t{opt_.payload} + 512 + plan_.http_host.size() + plan_.auth_header.size();
  const size_t connect_size = 128 + opt_.client_prefix.size() + opt_.mqtt_username.size() + opt_.mqtt_password.size();

  // How many messages a producer typically has queued: its window (closed loop) or ~5 ms of
  // its share of the rate (open loop). Sizes one half of its double send buffer.
  double window = opt_.inflight;
  if (opt_.open_loop()) {
    window = std::clamp(opt_.rate / std::max<uint32_t>(plan_.producers, 1) * 0.005, 16.0, 1024.0);
  }
  const size_t producer_half =
      std::max(max_message_, std::clamp<size_t>(size_t(window * double(max_message_)), 8192, 256 * 1024));
  const size_t receiver_rcap = std::max<size_t>(16384, 2 * (size_t{opt_.payload} + 1024));

  size_t arena_bytes = 0;
  size_t pending_entries = 0;
  uint32_t window_count = 0;
  std::vector<uint32_t> rcaps(conns_.size()), scaps(conns_.size());
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    size_t rcap = 0, half = 0;
    switch (c.role) {
      case Role::kDevice:
      case Role::kSubscriber:
        rcap = receiver_rcap;
        half = 4096;  // PUBACKs and PINGREQs only; a full buffer pauses reading
        break;
      case Role::kPublisher:
        rcap = 4096;
        half = producer_half;
        if (opt_.qos == 1) c.answer_cap = opt_.open_loop() ? opt_.max_outstanding : opt_.inflight;
        break;
      case Role::kSender:
        rcap = 16384;
        half = producer_half;
        c.answer_cap = opt_.open_loop() ? opt_.max_outstanding : opt_.inflight;
        break;
      case Role::kIdle:
        rcap = 1024;
        half = 256;
        break;
    }
    half = std::max(half, connect_size);
    rcaps[i] = static_cast<uint32_t>(rcap);
    scaps[i] = static_cast<uint32_t>((half + 63) & ~size_t{63});
    arena_bytes += rcaps[i] + 2 * size_t{scaps[i]};
    c.ring_cap = c.answer_cap;
    pending_entries += c.ring_cap;
    c.window_offset = window_count;
    window_count += c.stream_count;
    if (c.role == Role::kPublisher) {
      c.topic_offset = static_cast<uint32_t>(topics_.size());
      std::string topic = opt_.topic_prefix;
      switch (opt_.mode) {
        case PubsubMode::kP2p: topic += "/p2p/" + std::to_string(c.index); break;
        case PubsubMode::kFanout: topic += "/fanout"; break;
        case PubsubMode::kFanin: topic += "/fanin"; break;
      }
      topics_ += topic;
      c.topic_size = static_cast<uint32_t>(topic.size());
    } else if (c.role == Role::kSubscriber) {
      c.topic_offset = static_cast<uint32_t>(topics_.size());
      std::string filter = opt_.topic_prefix;
      switch (opt_.mode) {
        case PubsubMode::kP2p: filter += "/p2p/" + std::to_string(c.index); break;
        case PubsubMode::kFanout: filter += "/fanout"; break;
        case PubsubMode::kFanin: filter += "/fanin"; break;
      }
      topics_ += filter;
      c.topic_size = static_cast<uint32_t>(filter.size());
    }
  }
  arena_ = std::make_unique<uint8_t[]>(arena_bytes);
  pending_arena_ = std::make_unique<Pending[]>(std::max<size_t>(pending_entries, 1));
  windows_.resize(window_count);
  size_t offset = 0, pending_offset = 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    c.rbuf = arena_.get() + offset;
    c.rcap = rcaps[i];
    offset += c.rcap;
    c.sbuf[0] = arena_.get() + offset;
    c.sbuf[1] = arena_.get() + offset + scaps[i];
    c.scap = scaps[i];
    offset += 2 * size_t{scaps[i]};
    c.ring = pending_arena_.get() + pending_offset;
    pending_offset += c.ring_cap;
    if (c.role == Role::kPublisher || c.role == Role::kSender) {
      c.slot = static_cast<uint32_t>(producers_.size());
      producers_.push_back(static_cast<uint32_t>(i));
    }
  }
  // --count: the measured messages, split evenly over all producers.
  if (opt_.count > 0 && !direct) {
    for (uint32_t ci : producers_) {
      Conn& c = conns_[ci];
      c.quota = opt_.count / plan_.producers + (c.first_stream < opt_.count % plan_.producers ? 1 : 0);
    }
  } else if (opt_.count > 0) {
    for (uint32_t ci : producers_) {
      Conn& c = conns_[ci];
      c.quota = opt_.count / plan_.producers + (c.index < opt_.count % plan_.producers ? 1 : 0);
    }
  }
  payload_template_.resize(opt_.payload);
  FillPayloadTemplate(payload_template_);
  dirty_.reserve(conns_.size());
  dirty_scratch_.reserve(conns_.size());
  waiting_.reserve(conns_.size());
  waiting_scratch_.reserve(conns_.size());
  remote_wake_.assign(shared_.workers.size(), 0);
  if (opt_.open_loop() && !producers_.empty()) {
    // This worker's share of the total rate, spread evenly over its producers.
    const double worker_rate = opt_.rate * double(producers_.size()) / double(plan_.producers);
    period_ns_ = 1e9 / worker_rate;
  } else if (opt_.scenario == Scenario::kConnections && !conns_.empty()) {
    const double worker_rate = opt_.connect_rate * double(conns_.size()) / double(plan_.connections);
    period_ns_ = 1e9 / worker_rate;
  }
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { ThreadMain(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Wake() {
  if (event_fd_ < 0) return;
  const uint64_t one = 1;
  ssize_t n = ::write(event_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN only when the counter is about to overflow: already woken
}

bool Worker::InitRing(std::string* error) {
  if (event_fd_ < 0) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  // Enough CQ room for a completion of every connection's receive and send at once.
  unsigned cq = 4096;
  while (cq < 2 * conns_.size() + 64 && cq < 65536) cq *= 2;
  const unsigned flag_sets[] = {
      IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_CQSIZE,
  };
  int ret = -EINVAL;
  for (unsigned flags : flag_sets) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = cq;
    ret = io_uring_queue_init_params(2048, &ring_, &params);
    if (ret == 0) break;
  }
  if (ret < 0) {
    *error = std::string("io_uring_queue_init: ") + std::strerror(-ret);
    return false;
  }
  ring_ready_ = true;
  return true;
}

void Worker::ThreadMain() {
  if (!InitRing(&init_error_)) {
    // Everything assigned to this worker fails: the main thread reports why.
    counters_.connections_failed.Add(conns_.size());
    init_state_.store(2, std::memory_order_release);
    return;
  }
  init_state_.store(1, std::memory_order_release);
  Loop();
  // Sockets not closed within the grace period: io_uring_queue_exit cancels their requests.
  io_uring_queue_exit(&ring_);
  ring_ready_ = false;
  for (Conn& c : conns_) {
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The loop

void Worker::Loop() {
  next_housekeeping_ns_ = NowNs();
  {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof(event_buf_), 0);
    io_uring_sqe_set_data64(sqe, kEventTag);
    event_read_pending_ = true;
  }
  const bool ramp = opt_.scenario == Scenario::kConnections;
  for (;;) {
    uint64_t now = NowNs();
    const Phase phase = shared_.phase.load(std::memory_order_acquire);
    if (phase != phase_) {
      // Phases only move forward; a worker may skip one (set-up straight to close).
      if (phase_ == Phase::kSetup && (phase == Phase::kRun || phase == Phase::kDrain)) EnterRun(now);
      if (phase_ <= Phase::kRun && phase >= Phase::kDrain) EnterDrain(now);
      if (phase == Phase::kClose) EnterClose(now);
      phase_ = phase;
    }
    if (phase_ == Phase::kSetup || (ramp && phase_ == Phase::kRun)) StartPendingConnects(now);
    if (phase_ == Phase::kRun && !ramp && !producing_ && now >= start_ns_) StartProducing(now);
    if (phase_ == Phase::kRun && opt_.open_loop() && !ramp && producing_) RunSchedule(now);
    if (now >= next_housekeeping_ns_) {
      Housekeeping(now);
      next_housekeeping_ns_ = now + kHousekeepingNs;
    }
    if (rescan_waiting_) RescanWaiting(now);
    FlushSends();
    if (phase_ == Phase::kClose && (open_ == 0 || now >= close_deadline_ns_)) break;

    uint64_t wake_at = next_housekeeping_ns_;
    if (phase_ == Phase::kRun && !ramp && !producing_) wake_at = std::min(wake_at, start_ns_);
    if (phase_ == Phase::kRun && period_ns_ > 0) {
      if (ramp) {
        if (setup_cursor_ < conns_.size()) {
          wake_at = std::min(wake_at, start_ns_ + uint64_t(double(setup_cursor_) * period_ns_));
        }
      } else {
        const uint64_t due = start_ns_ + uint64_t(double(sched_k_) * period_ns_);
        if (due < end_ns_) wake_at = std::min(wake_at, due);
      }
    }
    now = NowNs();
    io_uring_cqe* cqe = nullptr;
    if (wake_at <= now) {
      // Due work is waiting: submit, and collect what completed without sleeping (with
      // DEFER_TASKRUN completions are only posted when we enter the kernel for them).
      io_uring_submit_and_get_events(&ring_);
    } else {
      const uint64_t wait = wake_at - now;
      __kernel_timespec ts{};
      ts.tv_sec = static_cast<long long>(wait / 1'000'000'000);
      ts.tv_nsec = static_cast<long long>(wait % 1'000'000'000);
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    now = NowNs();
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      HandleCqe(cqe, now);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    WakeRemoteProducers();
  }
}

void Worker::HandleCqe(io_uring_cqe* cqe, uint64_t now) {
  const uint64_t tag = io_uring_cqe_get_data64(cqe);
  if (tag == kEventTag) {
    event_read_pending_ = false;
    rescan_waiting_ = true;
    if (phase_ != Phase::kClose || open_ > 0) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof(event_buf_), 0);
      io_uring_sqe_set_data64(sqe, kEventTag);
      event_read_pending_ = true;
    }
    return;
  }
  const uint32_t ci = static_cast<uint32_t>(tag >> 8);
  if (ci >= conns_.size()) return;
  switch (static_cast<Op>(tag & 0xff)) {
    case kOpConnect: OnConnected(ci, cqe->res, now); break;
    case kOpRecv: OnRecv(ci, cqe->res, now); break;
    case kOpSend: OnSend(ci, cqe->res, now); break;
    case kOpCancel: break;
  }
}

io_uring_sqe* Worker::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Worker::WakeRemoteProducers() {
  if (!any_remote_wake_) return;
  any_remote_wake_ = false;
  for (size_t w = 0; w < remote_wake_.size(); ++w) {
    if (remote_wake_[w]) {
      remote_wake_[w] = 0;
      shared_.workers[w]->Wake();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Phases

void Worker::EnterRun(uint64_t now) {
  start_ns_ = shared_.start_ns.load(std::memory_order_relaxed);
  warmup_end_ns_ = shared_.warmup_end_ns.load(std::memory_order_relaxed);
  end_ns_ = shared_.end_ns.load(std::memory_order_relaxed);
  alloc_at_run_ = ThreadAllocations();
  ran_ = true;
  sched_k_ = 0;
  if (opt_.scenario == Scenario::kConnections) {
    setup_cursor_ = 0;
    return;
  }
}

void Worker::StartProducing(uint64_t now) {
  // Nothing is stamped before the run clock starts, so --count and the warmup boundary are
  // exact even though the workers see the phase change a little before start_ns.
  producing_ = true;
  for (uint32_t ci : producers_) {
    conns_[ci].credit_stalled_since = now;
    if (!opt_.open_loop()) Produce(ci, now);
  }
}

void Worker::EnterDrain(uint64_t now) {
  if (!opt_.open_loop() || opt_.scenario == Scenario::kConnections || !ran_) return;
  // Messages that came due just before the end go out first (phase_ is still kRun here).
  if (producing_) RunSchedule(now);
  // Open loop: messages whose scheduled time passed but that were never sent (the producer
  // was blocked by its window, buffer or connection). Reported, so a schedule the target
  // could not absorb is visible even when latency looks fine.
  const double horizon = double(std::min(now, end_ns_) - std::min(std::min(now, end_ns_), start_ns_)) / period_ns_;
  const double n = double(producers_.size());
  uint64_t unsent = 0;
  for (uint32_t ci : producers_) {
    const Conn& c = conns_[ci];
    if (c.producing_done && c.window_sent >= c.quota) continue;
    const double due = std::ceil((horizon - double(c.slot)) / n);
    if (due > double(c.next_j)) unsent += uint64_t(due) - c.next_j;
  }
  counters_.unsent_backlog.Add(unsent);
}

void Worker::EnterClose(uint64_t now) {
  if (ran_ && !load_alloc_recorded_) {
    load_alloc_recorded_ = true;
    counters_.allocations_in_load.Add(ThreadAllocations() - alloc_at_run_);
  }
  phase_ = Phase::kClose;
  close_deadline_ns_ = now + kCloseGraceNs;
  for (uint32_t ci = 0; ci < conns_.size(); ++ci) {
    Conn& c = conns_[ci];
    c.reconnect = false;
    // Still unanswered after the drain: HTTP requests or QoS 1 PUBLISHes.
    const uint32_t unanswered = DropUnanswered(c);
    if (ran_) counters_.failures[size_t(Failure::kRequestsUnanswered)].Add(unanswered);
    if (c.state == State::kReady && c.role != Role::kSender) {
      if (QueueSimple(ci, mqtt::PacketType::kDisconnect, 0)) {
        c.disconnect_queued = true;
        continue;
      }
    }
    if (c.state != State::kClosed && c.state != State::kIdle) CloseConn(ci);
  }
}

// ---------------------------------------------------------------------------------------
// Connections

void Worker::StartPendingConnects(uint64_t now) {
  if (phase_ == Phase::kSetup) {
    if (opt_.scenario == Scenario::kConnections) return;  // connections ramp in kRun
    while (setup_cursor_ < conns_.size() && connecting_ < opt_.connect_concurrency) {
      StartConnect(setup_cursor_++, now);
    }
    return;
  }
  while (setup_cursor_ < conns_.size() && start_ns_ + uint64_t(double(setup_cursor_) * period_ns_) <= now) {
    StartConnect(setup_cursor_++, now);
  }
}

void Worker::StartConnect(uint32_t ci, uint64_t now) {
  Conn& c = conns_[ci];
  const Endpoint& target = c.role == Role::kSender ? plan_.http : plan_.mqtt;
  counters_.connects_attempted.Add();
  c.connect_start_ns = now;
  c.rlen = 0;
  c.fill = 0;
  c.flight_len = c.flight_off = 0;
  c.send_in_flight = c.recv_in_flight = false;
  c.disconnect_queued = false;
  const int fd = ::socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c.state = State::kClosed;
    Fail(ci, Failure::kSocketError);
    return;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (plan_.source_addresses > 0 && c.role == Role::kIdle && target.ipv4_loopback) {
    // Spread over 127.0.0.1..K; the port is picked at connect() time, per destination, so
    // each source address has its own ephemeral port range.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + c.index % plan_.source_addresses);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
      ::close(fd);
      c.state = State::kClosed;
      Fail(ci, Failure::kSocketError);
      return;
    }
  }
  c.fd = fd;
  ++open_;
  ++connecting_;
  c.state = State::kTcpConnecting;
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&target.addr), target.length);
  io_uring_sqe_set_data64(sqe, Tag(ci, kOpConnect));
  ++c.ops;
}

void Worker::OnConnected(uint32_t ci, int res, uint64_t now) {
  Conn& c = conns_[ci];
  --c.ops;
  if (c.state != State::kTcpConnecting) {
    MaybeFinishClose(ci);
    return;
  }
  if (res < 0) {
    if (phase_ != Phase::kClose && -res < int(counters_.connect_errno.size())) counters_.connect_errno[size_t(-res)].Add();
    Fail(ci, Failure::kTcpConnect);
    return;
  }
  SubmitRecv(ci);
  if (c.role == Role::kSender) {
    BecomeReady(ci, now);
    return;
  }
  c.state = State::kMqttConnecting;
  SendConnect(c);
  MarkDirty(ci);
}

void Worker::SendConnect(Conn& c) {
  char client_id[128];
  char* end = Append(client_id, opt_.client_prefix);
  *end++ = '-';
  end = Append(end, RoleTag(c.role));
  *end++ = '-';
  end = AppendNumber(end, c.index);
  mqtt::Connect connect;
  connect.clean_start = true;
  connect.keep_alive = opt_.keepalive_s;
  connect.client_id = std::string_view(client_id, size_t(end - client_id));
  if (!opt_.mqtt_username.empty()) connect.username = opt_.mqtt_username;
  if (!opt_.mqtt_password.empty()) {
    connect.password = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(opt_.mqtt_password.data()),
                                                opt_.mqtt_password.size());
  }
  if (opt_.mqtt_version == mqtt::Version::kV5) {
    connect.properties.receive_maximum = 65535;
    connect.properties.maximum_packet_size = c.rcap;
  }
  const size_t size = mqtt::EncodedSize(connect, opt_.mqtt_version);
  uint8_t* out = Reserve(c, size);
  if (size == 0 || !out) return;  // sized in Start(): cannot happen
  mqtt::Encode(connect, opt_.mqtt_version, out);
  c.fill += static_cast<uint32_t>(size);
}

void Worker::BecomeReady(uint32_t ci, uint64_t now) {
  Conn& c = conns_[ci];
  c.state = State::kReady;
  c.last_send_ns = now;
  --connecting_;
  if (!c.ever_ready) {
    c.ever_ready = true;
    counters_.connections_ready.Add();
    counters_.connect.Record(now - c.connect_start_ns);
    ++resolved_;
    if (opt_.scenario == Scenario::kConnections && resolved_ == conns_.size()) counters_.ramp_done.Add();
  } else {
    counters_.reconnects.Add();
    c.credit_stalled_since = now;
  }
  c.reconnect_failures = 0;
  if (phase_ == Phase::kRun && (c.role == Role::kSender || c.role == Role::kPublisher)) Produce(ci, now);
}

void Worker::Fail(uint32_t ci, Failure why) {
  Conn& c = conns_[ci];
  if (c.state == State::kClosing) return;
  const bool counted = phase_ != Phase::kClose;
  if (counted) counters_.failures[size_t(why)].Add();
  const bool was_connecting = c.state == State::kTcpConnecting || c.state == State::kMqttConnecting ||
                              c.state == State::kSubscribing;
  if (was_connecting && c.fd >= 0) --connecting_;
  if (!c.ever_ready) {
    // Set-up (or ramp) of this connection failed.
    counters_.connections_failed.Add();
    ++resolved_;
    if (opt_.scenario == Scenario::kConnections && resolved_ == conns_.size()) counters_.ramp_done.Add();
  } else if (counted && c.state == State::kReady) {
    counters_.connections_lost.Add();
  }
  // Whatever was waiting for an answer on this connection will never get one.
  const uint32_t unanswered = DropUnanswered(c);
  if (counted) counters_.failures[size_t(Failure::kRequestsUnanswered)].Add(unanswered);
  if (c.role == Role::kSender && c.ever_ready && phase_ == Phase::kRun) {
    // Keep the load going: a sender reconnects, unless the server keeps refusing.
    if (was_connecting) ++c.reconnect_failures;
    c.reconnect = c.reconnect_failures < kMaxReconnectFailures;
  }
  if (c.fd < 0) {
    c.state = State::kClosed;
    return;
  }
  CloseConn(ci);
}

void Worker::CloseConn(uint32_t ci) {
  Conn& c = conns_[ci];
  if (c.state == State::kClosing || c.state == State::kClosed) return;
  c.state = State::kClosing;  // FlushSends skips it from now on
  if (c.ops > 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, Tag(ci, kOpCancel));
    return;
  }
  MaybeFinishClose(ci);
}

void Worker::MaybeFinishClose(uint32_t ci) {
  Conn& c = conns_[ci];
  if (c.state != State::kClosing || c.ops > 0) return;
  if (c.fd >= 0) {
    ::close(c.fd);
    c.fd = -1;
    --open_;
  }
  c.state = State::kClosed;
  if (c.reconnect && phase_ == Phase::kRun) {
    c.reconnect = false;
    StartConnect(ci, NowNs());
  }
}

void Worker::Housekeeping(uint64_t now) {
  const uint64_t connect_timeout = Ns(opt_.connect_timeout_s);
  const uint64_t response_timeout = Ns(opt_.response_timeout_s);
  const uint64_t keepalive_ns = uint64_t{opt_.keepalive_s} * 1'000'000'000 / 2;
  const uint64_t loss_timeout = Ns(opt_.loss_timeout_s);
  // If this thread itself did not run for a while (the machine is overloaded), deliveries
  // may be waiting in the ring unprocessed: do not mistake our own stall for lost messages.
  const bool self_stalled = last_housekeeping_ns_ != 0 && Since(now, last_housekeeping_ns_) > kHousekeepingNs + loss_timeout / 2;
  last_housekeeping_ns_ = now;
  for (uint32_t ci = 0; ci < conns_.size(); ++ci) {
    Conn& c = conns_[ci];
    switch (c.state) {
      case State::kTcpConnecting:
      case State::kMqttConnecting:
      case State::kSubscribing:
        if (Since(now, c.connect_start_ns) >= connect_timeout) Fail(ci, Failure::kConnectTimeout);
        continue;
      case State::kReady:
        break;
      default:
        continue;
    }
    if (c.role != Role::kSender && keepalive_ns > 0 && Since(now, c.last_send_ns) >= keepalive_ns && !c.disconnect_queued) {
      if (QueueSimple(ci, mqtt::PacketType::kPingreq, 0)) c.last_send_ns = now;
    }
    if (c.ring_count > 0 && Since(now, c.ring[c.ring_head].sent_ns) >= response_timeout) {
      if (c.role == Role::kSender) {
        // The answer may still come, but pipelined answers would then be matched to the wrong
        // requests: give up on this connection and open another.
        counters_.failures[size_t(Failure::kResponseTimeout)].Add(DropUnanswered(c));
        Fail(ci, Failure::kConnectionLost);
        continue;
      }
      while (c.ring_count > 0 && Since(now, c.ring[c.ring_head].sent_ns) >= response_timeout) {
        if (c.ring[c.ring_head].packet_id != 0) {
          counters_.failures[size_t(Failure::kPubackTimeout)].Add();
          counters_.puback_pending.Sub();
        }
        c.ring_head = (c.ring_head + 1) % c.ring_cap;
        --c.ring_count;
      }
      if (phase_ == Phase::kRun) Produce(ci, now);
    }
    if (c.in_waiting && shared_.credits) {
      const uint64_t delivered = shared_.credits[c.first_stream].deliveries.load(std::memory_order_relaxed);
      if (delivered != c.credit_seen || self_stalled) {
        c.credit_seen = delivered;
        c.credit_stalled_since = now;
      } else if (Since(now, c.credit_stalled_since) >= loss_timeout) {
        // Nothing arrived for the whole loss timeout: the window's messages are lost (the
        // sequence windows count them); release the window so the load goes on.
        const uint64_t fan = plan_.receivers_per_message;
        const uint64_t expected = c.sent * fan;
        const uint64_t accounted = delivered + c.forgiven;
        if (expected > accounted) c.forgiven += expected - accounted;
        counters_.failures[size_t(Failure::kWindowForgiven)].Add();
        c.credit_stalled_since = now;
        rescan_waiting_ = true;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// I/O

void Worker::SubmitRecv(uint32_t ci) {
  Conn& c = conns_[ci];
  if (c.recv_in_flight || c.rlen >= c.rcap) return;
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_recv(sqe, c.fd, c.rbuf + c.rlen, c.rcap - c.rlen, 0);
  io_uring_sqe_set_data64(sqe, Tag(ci, kOpRecv));
  c.recv_in_flight = true;
  ++c.ops;
}

uint8_t* Worker::Reserve(Conn& c, size_t n) {
  if (size_t{c.fill} + n > c.scap) return nullptr;
  return c.sbuf[c.send_half] + c.fill;
}

void Worker::Commit(uint32_t ci, size_t n) {
  conns_[ci].fill += static_cast<uint32_t>(n);
  MarkDirty(ci);
}

void Worker::MarkDirty(uint32_t ci) {
  Conn& c = conns_[ci];
  if (c.in_dirty) return;
  c.in_dirty = true;
  dirty_.push_back(ci);
}

void Worker::FlushSends() {
  if (dirty_.empty()) return;
  dirty_scratch_.swap(dirty_);
  for (uint32_t ci : dirty_scratch_) {
    Conn& c = conns_[ci];
    c.in_dirty = false;
    if (c.send_in_flight || c.fill == 0 || c.fd < 0) continue;
    if (c.state == State::kClosing || c.state == State::kClosed || c.state == State::kTcpConnecting) continue;
    const uint8_t half = c.send_half;
    c.flight_len = c.fill;
    c.flight_off = 0;
    c.fill = 0;
    c.send_half ^= 1;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_send(sqe, c.fd, c.sbuf[half], c.flight_len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, Tag(ci, kOpSend));
    c.send_in_flight = true;
    ++c.ops;
  }
  dirty_scratch_.clear();
}

void Worker::OnSend(uint32_t ci, int res, uint64_t now) {
  Conn& c = conns_[ci];
  --c.ops;
  c.send_in_flight = false;
  if (c.state == State::kClosing || c.state == State::kClosed) {
    MaybeFinishClose(ci);
    return;
  }
  if (res <= 0) {
    Fail(ci, Failure::kConnectionLost);
    return;
  }
  c.flight_off += static_cast<uint32_t>(res);
  if (c.flight_off < c.flight_len) {
    // Short send: the rest of the same buffer goes first, to keep the byte order.
    const uint8_t half = c.send_half ^ 1;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_send(sqe, c.fd, c.sbuf[half] + c.flight_off, c.flight_len - c.flight_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, Tag(ci, kOpSend));
    c.send_in_flight = true;
    ++c.ops;
    return;
  }
  c.last_send_ns = now;
  if (c.disconnect_queued && c.fill == 0) {
    CloseConn(ci);
    return;
  }
  if (c.fill > 0) MarkDirty(ci);
  if (c.recv_paused) {
    // Receiving paused because the PUBACK buffer was full: resume now that it drained.
    c.recv_paused = false;
    if (ProcessMqtt(ci, now)) SubmitRecv(ci);
    return;
  }
  if (phase_ == Phase::kRun && (c.role == Role::kPublisher || c.role == Role::kSender)) Produce(ci, now);
}

void Worker::OnRecv(uint32_t ci, int res, uint64_t now) {
  Conn& c = conns_[ci];
  --c.ops;
  c.recv_in_flight = false;
  if (c.state == State::kClosing || c.state == State::kClosed) {
    MaybeFinishClose(ci);
    return;
  }
  if (res <= 0) {
    if (phase_ == Phase::kClose || c.disconnect_queued) {
      CloseConn(ci);
    } else {
      Fail(ci, Failure::kConnectionLost);
    }
    return;
  }
  c.rlen += static_cast<uint32_t>(res);
  const bool ok = c.role == Role::kSender ? ProcessHttp(ci, now) : ProcessMqtt(ci, now);
  if (!ok) return;
  Conn& after = conns_[ci];
  if (after.state == State::kClosing || after.state == State::kClosed) return;
  SubmitRecv(ci);
}

// ---------------------------------------------------------------------------------------
// MQTT

bool Worker::QueueSimple(uint32_t ci, mqtt::PacketType type, uint16_t packet_id) {
  Conn& c = conns_[ci];
  const mqtt::Version v = opt_.mqtt_version;
  uint8_t* out = nullptr;
  size_t size = 0;
  switch (type) {
    case mqtt::PacketType::kPuback: {
      mqtt::Puback ack;
      ack.packet_id = packet_id;
      size = mqtt::EncodedSize(ack, v);
      if ((out = Reserve(c, size))) mqtt::Encode(ack, v, out);
      break;
    }
    case mqtt::PacketType::kPingreq: {
      mqtt::Pingreq ping;
      size = mqtt::EncodedSize(ping, v);
      if ((out = Reserve(c, size))) mqtt::Encode(ping, v, out);
      break;
    }
    case mqtt::PacketType::kDisconnect: {
      mqtt::Disconnect bye;
      size = mqtt::EncodedSize(bye, v);
      if ((out = Reserve(c, size))) mqtt::Encode(bye, v, out);
      break;
    }
    default:
      return false;
  }
  if (!out) return false;
  Commit(ci, size);
  return true;
}

bool Worker::ProcessMqtt(uint32_t ci, uint64_t now) {
  Conn& c = conns_[ci];
  const mqtt::Version v = opt_.mqtt_version;
  size_t off = 0;
  bool paused = false;
  while (off < c.rlen) {
    const std::span<const uint8_t> buf(c.rbuf + off, c.rlen - off);
    const mqtt::Frame frame = mqtt::PeekFrame(buf, c.rcap);
    if (frame.status == mqtt::FrameStatus::kNeedMore) break;
    if (frame.status == mqtt::FrameStatus::kMalformed) {
      Fail(ci, Failure::kProtocolError);
      return false;
    }
    if (frame.status == mqtt::FrameStatus::kTooLarge) {
      Fail(ci, Failure::kPacketTooLarge);
      return false;
    }
    const std::span<const uint8_t> body = frame.Body(buf);
    switch (frame.type) {
      case mqtt::PacketType::kPublish: {
        // A QoS 1 PUBLISH needs room for its PUBACK; without it, stop reading until the
        // send buffer drains (backpressure instead of dropping acknowledgements).
        if ((frame.flags & 0x06) != 0 && !Reserve(c, 8)) {
          paused = true;
          break;
        }
        if (!OnPublish(ci, frame, body, now)) return false;
        break;
      }
      case mqtt::PacketType::kPuback:
        if (!OnPuback(ci, body, frame.flags, now)) return false;
        break;
      case mqtt::PacketType::kConnack: {
        mqtt::Connack connack;
        if (c.state != State::kMqttConnecting || !mqtt::DecodeConnack(v, frame.flags, body, &connack).ok()) {
          Fail(ci, Failure::kProtocolError);
          return false;
        }
        if (connack.reason_code != mqtt::ReasonCode::kSuccess) {
          counters_.connack_reasons[uint8_t(connack.reason_code)].Add();
          Fail(ci, Failure::kConnackRefused);
          return false;
        }
        if (connack.properties.receive_maximum && c.answer_cap > *connack.properties.receive_maximum) {
          c.answer_cap = *connack.properties.receive_maximum;
        }
        if (connack.properties.maximum_packet_size) c.peer_max_packet = *connack.properties.maximum_packet_size;
        if (c.role == Role::kSubscriber) {
          mqtt::Subscription sub;
          sub.filter = std::string_view(topics_.data() + c.topic_offset, c.topic_size);
          sub.max_qos = opt_.qos;
          mqtt::Subscribe subscribe;
          subscribe.packet_id = 1;
          subscribe.subscriptions = std::span<const mqtt::Subscription>(&sub, 1);
          const size_t size = mqtt::EncodedSize(subscribe, v);
          uint8_t* out = Reserve(c, size);
          if (size == 0 || !out) {
            Fail(ci, Failure::kSocketError);
            return false;
          }
          mqtt::Encode(subscribe, v, out);
          Commit(ci, size);
          c.state = State::kSubscribing;
        } else {
          BecomeReady(ci, now);
        }
        break;
      }
      case mqtt::PacketType::kSuback: {
        mqtt::Suback suback;
        if (c.state != State::kSubscribing || !mqtt::DecodeSuback(v, frame.flags, body, &suback).ok() ||
            suback.packet_id != 1 || suback.reason_codes.size() != 1) {
          Fail(ci, Failure::kProtocolError);
          return false;
        }
        const uint8_t granted = uint8_t(suback.reason_codes[0]);
        if (granted >= 0x80) {
          counters_.suback_reasons[granted].Add();
          Fail(ci, Failure::kSubackRefused);
          return false;
        }
        if (granted < opt_.qos) counters_.suback_downgraded.Add();
        BecomeReady(ci, now);
        break;
      }
      case mqtt::PacketType::kPingresp:
        break;
      case mqtt::PacketType::kDisconnect: {
        mqtt::Disconnect bye;
        if (mqtt::DecodeDisconnect(v, frame.flags, body, &bye).ok()) {
          counters_.disconnect_reasons[uint8_t(bye.reason_code)].Add();
        }
        Fail(ci, Failure::kServerDisconnect);
        return false;
      }
      default:
        Fail(ci, Failure::kProtocolError);
        return false;
    }
    if (paused) break;
    off += frame.total_size();
    if (conns_[ci].state == State::kClosing || conns_[ci].state == State::kClosed) return false;
  }
  if (off > 0) {
    std::memmove(c.rbuf, c.rbuf + off, c.rlen - off);
    c.rlen -= static_cast<uint32_t>(off);
  }
  if (paused) {
    c.recv_paused = true;  // OnSend resumes once the PUBACKs went out
    return false;
  }
  if (c.role == Role::kPublisher && phase_ == Phase::kRun) Produce(ci, now);
  return true;
}

bool Worker::OnPublish(uint32_t ci, const mqtt::Frame& frame, std::span<const uint8_t> body, uint64_t now) {
  mqtt::Publish publish;
  if (!mqtt::DecodePublish(opt_.mqtt_version, frame.flags, body, &publish).ok() || publish.qos > 1) {
    Fail(ci, Failure::kProtocolError);
    return false;
  }
  if (publish.qos == 1) QueueSimple(ci, mqtt::PacketType::kPuback, publish.packet_id);
  Deliver(ci, publish.payload, now);
  return true;
}

void Worker::Deliver(uint32_t ci, std::span<const uint8_t> payload, uint64_t now) {
  Conn& c = conns_[ci];
  const std::optional<PayloadStamp> stamp = ReadStamp(payload);
  if (!stamp) {
    counters_.failures[size_t(Failure::kForeignMessage)].Add();
    return;
  }
  if (stamp->stream < c.first_stream || stamp->stream - c.first_stream >= c.stream_count) {
    counters_.failures[size_t(Failure::kMisrouted)].Add();
    return;
  }
  SequenceWindow& window = windows_[c.window_offset + (stamp->stream - c.first_stream)];
  const SequenceWindow::Verdict verdict = window.Observe(stamp->sequence);
  if (verdict == SequenceWindow::Verdict::kDuplicate) {
    counters_.duplicates.Add();
    return;
  }
  if (verdict != SequenceWindow::Verdict::kTooOld) {
    counters_.unique_total.Add();
    if (stamp->timestamp_ns >= warmup_end_ns_ && stamp->timestamp_ns < end_ns_ && warmup_end_ns_ != 0) {
      counters_.unique_window.Add();
      const uint64_t at = NowNs();
      counters_.delivery.Record(at > stamp->timestamp_ns ? at - stamp->timestamp_ns : 0);
    }
  }
  if (shared_.credits) {
    StreamCredit& credit = shared_.credits[stamp->stream];
    credit.deliveries.fetch_add(1, std::memory_order_seq_cst);
    if (credit.waiting.load(std::memory_order_seq_cst) && credit.waiting.exchange(false, std::memory_order_seq_cst)) {
      if (credit.owner == id_) {
        rescan_waiting_ = true;
      } else {
        remote_wake_[credit.owner] = 1;
        any_remote_wake_ = true;
      }
    }
  }
  (void)now;
}

bool Worker::OnPuback(uint32_t ci, std::span<const uint8_t> body, uint8_t flags, uint64_t now) {
  Conn& c = conns_[ci];
  mqtt::Puback ack;
  if (c.role != Role::kPublisher || !mqtt::DecodePuback(opt_.mqtt_version, flags, body, &ack).ok()) {
    Fail(ci, Failure::kProtocolError);
    return false;
  }
  const uint8_t reason = uint8_t(ack.reason_code);
  if (reason != 0) counters_.puback_reasons[reason].Add();
  if (reason >= 0x80) counters_.failures[size_t(Failure::kPubackRefused)].Add();
  // PUBACKs come in PUBLISH order (MQTT 4.6); search further only if the server broke that.
  bool found = false;
  for (uint32_t i = 0; i < c.ring_count; ++i) {
    Pending& p = c.ring[(c.ring_head + i) % c.ring_cap];
    if (p.packet_id != ack.packet_id) continue;
    if (p.in_window) counters_.response.Record(now > p.stamp_ns ? now - p.stamp_ns : 0);
    p.packet_id = 0;  // answered; popped once it reaches the head
    counters_.puback_pending.Sub();
    found = true;
    if (i != 0) counters_.failures[size_t(Failure::kProtocolError)].Add();
    break;
  }
  // An unknown packet id: a PUBACK after its timeout; nothing to release.
  (void)found;
  while (c.ring_count > 0 && c.ring[c.ring_head].packet_id == 0) {
    c.ring_head = (c.ring_head + 1) % c.ring_cap;
    --c.ring_count;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// HTTP

bool Worker::ProcessHttp(uint32_t ci, uint64_t now) {
  Conn& c = conns_[ci];
  size_t off = 0;
  bool server_closes = false;
  while (off < c.rlen && !server_closes) {
    const std::string_view buf(reinterpret_cast<const char*>(c.rbuf) + off, c.rlen - off);
    ResponseHead head;
    size_t total = 0;
    const ResponseParse parsed = FrameResponse(buf, c.rcap, &head, &total);
    if (parsed == ResponseParse::kNeedMore) break;
    if (parsed == ResponseParse::kError) {
      Fail(ci, Failure::kProtocolError);
      return false;
    }
    off += total;
    if (head.status < 200) continue;  // interim answer; the real one follows
    if (c.ring_count == 0) {
      Fail(ci, Failure::kProtocolError);  // an answer to nothing we asked
      return false;
    }
    const Pending p = c.ring[c.ring_head];
    c.ring_head = (c.ring_head + 1) % c.ring_cap;
    --c.ring_count;
    counters_.http_pending.Sub();
    counters_.http_status[size_t(std::min(head.status, 599))].Add();
    if (head.status >= 200 && head.status < 300) {
      counters_.http_ok_total.Add();
      ++shared_.streams[p.stream].accepted;
      if (p.in_window) counters_.response.Record(now > p.stamp_ns ? now - p.stamp_ns : 0);
    }
    server_closes = head.close;
  }
  if (off > 0) {
    std::memmove(c.rbuf, c.rbuf + off, c.rlen - off);
    c.rlen -= static_cast<uint32_t>(off);
  }
  if (server_closes) {
    // The server answered with "Connection: close": take the hint, reconnect.
    Fail(ci, Failure::kConnectionLost);
    return false;
  }
  if (phase_ == Phase::kRun) Produce(ci, now);
  return true;
}

// ---------------------------------------------------------------------------------------
// Producing

uint64_t Worker::ScheduledTime(const Conn& c) const {
  const double k = double(c.next_j) * double(producers_.size()) + double(c.slot);
  return start_ns_ + uint64_t(k * period_ns_);
}

void Worker::RunSchedule(uint64_t now) {
  const uint64_t n = producers_.size();
  if (n == 0) return;
  // Visit each due slot once; a producer that could not send (no credit, full buffer) is
  // behind and catches up from its own schedule when it can.
  for (;;) {
    const uint64_t due = start_ns_ + uint64_t(double(sched_k_) * period_ns_);
    if (due > now || due >= end_ns_) break;
    const uint32_t ci = producers_[sched_k_ % n];
    const uint64_t j = sched_k_ / n;
    ++sched_k_;
    Conn& c = conns_[ci];
    if (c.next_j == j && !c.producing_done) Produce(ci, now);
  }
}

bool Worker::HasCredit(uint32_t ci) {
  Conn& c = conns_[ci];
  if (c.role == Role::kSender) return c.ring_count < std::min(c.answer_cap, c.ring_cap);
  if (opt_.qos == 1 && c.ring_count >= std::min(c.answer_cap, c.ring_cap)) return false;
  if (!shared_.credits) return true;  // open loop: no end-to-end window
  StreamCredit& credit = shared_.credits[c.first_stream];
  const uint64_t fan = plan_.receivers_per_message;
  const uint64_t window = uint64_t{opt_.inflight} * fan;
  auto room = [&](uint64_t delivered) {
    const uint64_t expected = (c.sent + 1) * fan;
    const uint64_t accounted = delivered + c.forgiven;
    return expected <= accounted + window;
  };
  uint64_t delivered = credit.deliveries.load(std::memory_order_seq_cst);
  if (room(delivered)) return true;
  // Ask the receivers to wake us, then look again (a delivery may have raced the flag).
  credit.waiting.store(true, std::memory_order_seq_cst);
  delivered = credit.deliveries.load(std::memory_order_seq_cst);
  if (room(delivered)) {
    credit.waiting.store(false, std::memory_order_relaxed);
    return true;
  }
  if (!c.in_waiting) {
    c.in_waiting = true;
    waiting_.push_back(ci);
  }
  return false;
}

void Worker::RescanWaiting(uint64_t now) {
  rescan_waiting_ = false;
  if (waiting_.empty()) return;
  waiting_scratch_.swap(waiting_);
  for (uint32_t ci : waiting_scratch_) {
    conns_[ci].in_waiting = false;
    if (phase_ == Phase::kRun) Produce(ci, now);
  }
  waiting_scratch_.clear();
}

void Worker::MarkProducerDone(Conn& c) {
  if (c.producing_done) return;
  c.producing_done = true;
  counters_.producers_done.Add();
}

void Worker::Produce(uint32_t ci, uint64_t now) {
  Conn& c = conns_[ci];
  if (phase_ != Phase::kRun || !producing_ || c.state != State::kReady || c.producing_done || c.in_waiting) return;
  const bool open = opt_.open_loop();
  for (;;) {
    uint64_t stamp = 0;
    if (open) {
      stamp = ScheduledTime(c);
      if (stamp > now) return;  // not due yet
    } else {
      stamp = NowNs();
    }
    if (stamp >= end_ns_) {
      MarkProducerDone(c);
      return;
    }
    const bool in_window = stamp >= warmup_end_ns_;
    if (in_window && c.window_sent >= c.quota) {
      MarkProducerDone(c);
      return;
    }
    if (!HasCredit(ci)) return;
    const bool queued = c.role == Role::kSender ? EncodeRequest(ci, stamp, in_window) : EncodePublish(ci, stamp, in_window);
    if (!queued) return;  // the send buffer is full: OnSend calls us again
    if (open) ++c.next_j;
    ++c.sent;
    counters_.sent_total.Add();
    if (in_window) {
      ++c.window_sent;
      counters_.sent_window.Add();
    }
  }
}

uint32_t Worker::DropUnanswered(Conn& c) {
  uint32_t live = 0;
  for (uint32_t i = 0; i < c.ring_count; ++i) {
    // PUBACKs that arrived out of order leave answered entries (packet_id 0) behind.
    if (c.role == Role::kSender || c.ring[(c.ring_head + i) % c.ring_cap].packet_id != 0) ++live;
  }
  if (c.role == Role::kSender) {
    counters_.http_pending.Sub(live);
  } else {
    counters_.puback_pending.Sub(live);
  }
  c.ring_count = 0;
  return live;
}

void Worker::PushPending(Conn& c, const Pending& p) {
  c.ring[(c.ring_head + c.ring_count) % c.ring_cap] = p;
  ++c.ring_count;
}

bool Worker::EncodePublish(uint32_t ci, uint64_t stamp_ns, bool in_window) {
  Conn& c = conns_[ci];
  mqtt::Publish publish;
  publish.topic = std::string_view(topics_.data() + c.topic_offset, c.topic_size);
  publish.qos = opt_.qos;
  if (publish.qos == 1) publish.packet_id = c.next_packet_id;
  const size_t payload = opt_.payload;
  const size_t head = mqtt::EncodedPublishHeaderSize(publish, opt_.mqtt_version, payload);
  if (head == 0 || (c.peer_max_packet != 0 && head + payload > c.peer_max_packet)) {
    counters_.failures[size_t(Failure::kPacketTooLarge)].Add();
    MarkProducerDone(c);
    return false;
  }
  uint8_t* out = Reserve(c, head + payload);
  if (!out) return false;
  mqtt::EncodePublishHeader(publish, opt_.mqtt_version, payload, out);
  std::memcpy(out + head, payload_template_.data(), payload);
  StreamTotals& totals = shared_.streams[c.first_stream];
  WriteStamp(PayloadStamp{c.first_stream, totals.next_sequence++, stamp_ns}, std::span<uint8_t>(out + head, payload));
  Commit(ci, head + payload);
  if (publish.qos == 1) {
    PushPending(c, Pending{stamp_ns, NowNs(), c.first_stream, publish.packet_id, in_window});
    c.next_packet_id = c.next_packet_id == 65535 ? 1 : c.next_packet_id + 1;
    counters_.puback_pending.Add();
  }
  return true;
}

bool Worker::EncodeRequest(uint32_t ci, uint64_t stamp_ns, bool in_window) {
  Conn& c = conns_[ci];
  const uint32_t senders = opt_.senders;
  uint32_t rotate = c.rotate;
  uint64_t device = uint64_t{c.index} + uint64_t{rotate} * senders;
  if (device >= opt_.devices) {
    rotate = 0;
    device = c.index;
  }
  char head[2048];
  char* p = head;
  p = Append(p, "POST /connections/");
  p = Append(p, opt_.client_prefix);
  p = Append(p, "-dev-");
  p = AppendNumber(p, device);
  p = Append(p, "/messages?topic=");
  p = Append(p, opt_.topic_prefix);
  p = Append(p, "/");
  p = AppendNumber(p, device);
  p = Append(p, opt_.confirm ? "&confirmation=true" : "&confirmation=false");
  if (opt_.confirm && opt_.direct_timeout_s > 0) {
    p = Append(p, "&timeout=");
    p = AppendNumber(p, opt_.direct_timeout_s);
  }
  p = Append(p, " HTTP/1.1\r\nHost: ");
  p = Append(p, plan_.http_host);
  p = Append(p, "\r\nContent-Type: application/octet-stream\r\nContent-Length: ");
  p = AppendNumber(p, opt_.payload);
  p = Append(p, "\r\n");
  p = Append(p, plan_.auth_header);
  p = Append(p, "\r\n");
  const size_t head_size = size_t(p - head);
  uint8_t* out = Reserve(c, head_size + opt_.payload);
  if (!out) return false;
  std::memcpy(out, head, head_size);
  std::memcpy(out + head_size, payload_template_.data(), opt_.payload);
  StreamTotals& totals = shared_.streams[device];
  WriteStamp(PayloadStamp{uint32_t(device), totals.next_sequence++, stamp_ns},
             std::span<uint8_t>(out + head_size, opt_.payload));
  Commit(ci, head_size + opt_.payload);
  c.rotate = rotate + 1;
  PushPending(c, Pending{stamp_ns, NowNs(), uint32_t(device), 0, in_window});
  counters_.http_pending.Add();
  return true;
}

}  // namespace sb::bench
