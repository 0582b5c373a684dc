// Worker: one thread, one io_uring, thousands of connections. It plays the MQTT devices,
// publishers, subscribers, idle clients and HTTP senders assigned to it, follows the run
// phases of Shared, and counts everything in its WorkerCounters.
//
// Event loop: all CQEs available are handled in one pass (receives are parsed in place, sends
// are appended to per-connection buffers), then every connection with new output gets one
// send, and one io_uring_submit_and_wait_timeout() both submits the batch and sleeps until
// the next completion, scheduled send or housekeeping tick (100 ms). No SQPOLL.
//
// Memory: every buffer (receive buffer, two send buffers, pending-answer ring and sequence
// windows per connection) is allocated once, in Start(); the load phases (kRun, kDrain) do
// not allocate, which the worker proves by counting its heap allocations in that span
// (WorkerCounters::allocations_in_load, via the operator new of alloc_counter.cc).
//
// Threads: the worker's state belongs to its thread; other threads call only Wake() and read
// counters(). Cross-worker effects go through Shared (credits, phase).
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "net/mqtt/codec.h"
#include "perf/bench/run_state.h"
#include "perf/bench/sequence_window.h"

namespace sb::bench {

enum class Role : uint8_t {
  kDevice,      // direct: receives direct messages, PUBACKs QoS 1
  kSender,      // direct: HTTP/1.1 keep-alive connection POSTing direct messages
  kPublisher,   // pubsub: publishes one stream
  kSubscriber,  // pubsub: subscribes, receives one or more streams
  kIdle,        // connections: CONNECT, then only PINGREQ
};

class Worker {
 public:
  Worker(unsigned id, const Plan& plan, Shared& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before Start(). `index` is the role's own number (device i, publisher i, ...). A
  // subscriber receives streams [first_stream, first_stream + stream_count); a publisher
  // produces stream `first_stream`; a sender serves devices index, index + senders, ...
  void AddConnection(Role role, uint32_t index, uint32_t first_stream, uint32_t stream_count);

  // Allocates the buffers and starts the thread (which creates the ring).
  void Start();
  void Join();

  // Any thread: interrupts the worker's wait (phase change, credit for a waiting producer).
  void Wake();

  // Non-empty when the worker could not start (its io_uring or eventfd failed).
  bool init_failed() const { return init_state_.load(std::memory_order_acquire) == 2; }
  bool init_done() const { return init_state_.load(std::memory_order_acquire) != 0; }
  const std::string& init_error() const { return init_error_; }

  const WorkerCounters& counters() const { return counters_; }

  // After Join(): every sequence window of every receiver with the stream it tracks, and
  // sender-side figures, to compute loss. Calls fn(stream, const SequenceWindow&).
  template <class Fn>
  void ForEachWindow(Fn&& fn) const {
    for (const Conn& c : conns_) {
      for (uint32_t s = 0; s < c.stream_count; ++s) fn(c.first_stream + s, windows_[c.window_offset + s]);
    }
  }

 private:
  enum class State : uint8_t { kIdle, kTcpConnecting, kMqttConnecting, kSubscribing, kReady, kClosing, kClosed };

  struct Pending {
    uint64_t stamp_ns = 0;  // the message's stamp (latency is measured from it)
    uint64_t sent_ns = 0;   // when it was queued (timeouts are measured from it)
    uint32_t stream = 0;
    uint16_t packet_id = 0;
    bool in_window = false;
  };

  struct Conn {
    Role role = Role::kIdle;
    State state = State::kIdle;
    bool send_in_flight = false;
    bool recv_in_flight = false;
    bool in_dirty = false;
    bool in_waiting = false;
    bool producing_done = false;
    bool ever_ready = false;
    bool disconnect_queued = false;
    bool reconnect = false;     // senders: reconnect once the old socket is gone
    bool recv_paused = false;   // no room for PUBACKs: stop reading until the send drains
    uint8_t reconnect_failures = 0;
    uint8_t ops = 0;            // SQEs in flight for this connection
    uint8_t send_half = 0;      // which send buffer is being filled
    int fd = -1;
    uint32_t index = 0;
    uint32_t first_stream = 0;
    uint32_t stream_count = 0;
    uint32_t window_offset = 0;
    uint32_t topic_offset = 0, topic_size = 0;  // into topics_
    // Buffers (views into arena_).
    uint8_t* rbuf = nullptr;
    uint32_t rcap = 0, rlen = 0;
    uint8_t* sbuf[2] = {nullptr, nullptr};
    uint32_t scap = 0, fill = 0, flight_off = 0, flight_len = 0;
    Pending* ring = nullptr;
    uint32_t ring_cap = 0, ring_head = 0, ring_count = 0;
    // Timing.
    uint64_t connect_start_ns = 0;
    uint64_t last_send_ns = 0;
    // Producer.
    uint64_t sent = 0;         // messages produced
    uint64_t window_sent = 0;  // ... in the measured window
    uint64_t quota = UINT64_MAX;
    uint64_t next_j = 0;       // open loop: index of the next scheduled message
    uint32_t slot = 0;         // open loop: position among this worker's producers
    uint32_t rotate = 0;       // sender: next device, as an offset
    uint32_t answer_cap = 0;   // most unanswered messages (PUBACK / HTTP) at once
    uint16_t next_packet_id = 1;
    uint64_t forgiven = 0;          // closed loop: deliveries written off
    uint64_t credit_seen = 0;       // deliveries at the last stall check
    uint64_t credit_stalled_since = 0;
    // MQTT peer.
    uint32_t peer_max_packet = 0;   // 0: no limit announced
  };

  void ThreadMain();
  bool InitRing(std::string* error);
  void Loop();

  // Phase handling.
  void EnterRun(uint64_t now);
  void StartProducing(uint64_t now);
  void EnterDrain(uint64_t now);
  void EnterClose(uint64_t now);

  // Connections.
  void StartConnect(uint32_t ci, uint64_t now);
  void StartPendingConnects(uint64_t now);
  void OnConnected(uint32_t ci, int res, uint64_t now);
  void SendConnect(Conn& c);
  void BecomeReady(uint32_t ci, uint64_t now);
  void Fail(uint32_t ci, Failure why);
  void CloseConn(uint32_t ci);
  void MaybeFinishClose(uint32_t ci);
  void Housekeeping(uint64_t now);

  // I/O.
  io_uring_sqe* GetSqe();
  void SubmitRecv(uint32_t ci);
  void FlushSends();
  void MarkDirty(uint32_t ci);
  uint8_t* Reserve(Conn& c, size_t n);
  void Commit(uint32_t ci, size_t n);
  void OnRecv(uint32_t ci, int res, uint64_t now);
  void OnSend(uint32_t ci, int res, uint64_t now);
  void HandleCqe(io_uring_cqe* cqe, uint64_t now);

  // MQTT.
  bool ProcessMqtt(uint32_t ci, uint64_t now);  // false when the connection failed
  bool OnPublish(uint32_t ci, const mqtt::Frame& frame, std::span<const uint8_t> body, uint64_t now);
  bool OnPuback(uint32_t ci, std::span<const uint8_t> body, uint8_t flags, uint64_t now);
  void Deliver(uint32_t ci, std::span<const uint8_t> payload, uint64_t now);
  bool QueueSimple(uint32_t ci, mqtt::PacketType type, uint16_t packet_id);

  // HTTP.
  bool ProcessHttp(uint32_t ci, uint64_t now);

  // Producing.
  void Produce(uint32_t ci, uint64_t now);
  bool HasCredit(uint32_t ci);
  bool EncodePublish(uint32_t ci, uint64_t stamp_ns, bool in_window);
  bool EncodeRequest(uint32_t ci, uint64_t stamp_ns, bool in_window);
  void MarkProducerDone(Conn& c);
  uint64_t ScheduledTime(const Conn& c) const;
  void RunSchedule(uint64_t now);
  void RescanWaiting(uint64_t now);
  void PushPending(Conn& c, const Pending& p);
  uint32_t DropUnanswered(Conn& c);  // empties the ring; returns and uncounts what was live
  void WakeRemoteProducers();

  const unsigned id_;
  const Plan& plan_;
  Shared& shared_;
  const Options& opt_;
  WorkerCounters counters_;

  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  uint64_t event_buf_ = 0;
  bool event_read_pending_ = false;
  std::atomic<int> init_state_{0};  // 0 pending, 1 ok, 2 failed
  std::string init_error_;
  std::thread thread_;

  std::vector<Conn> conns_;
  std::vector<SequenceWindow> windows_;
  std::string topics_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<Pending[]> pending_arena_;
  std::vector<uint8_t> payload_template_;
  std::vector<uint32_t> dirty_, dirty_scratch_;
  std::vector<uint32_t> waiting_, waiting_scratch_;
  std::vector<uint32_t> producers_;        // open loop rotation
  std::vector<uint8_t> remote_wake_;       // per worker: wake after this batch
  bool any_remote_wake_ = false;
  bool rescan_waiting_ = false;

  Phase phase_ = Phase::kSetup;
  uint64_t start_ns_ = 0, warmup_end_ns_ = 0, end_ns_ = UINT64_MAX;
  double period_ns_ = 0;        // open loop: time between this worker's messages
  uint64_t sched_k_ = 0;        // open loop: next message index of the worker's schedule
  uint32_t setup_cursor_ = 0;   // next connection to start
  uint32_t connecting_ = 0;     // handshakes in progress
  uint32_t open_ = 0;           // sockets not yet closed
  uint32_t resolved_ = 0;       // connections that became ready or failed during set-up/ramp
  uint64_t next_housekeeping_ns_ = 0;
  uint64_t last_housekeeping_ns_ = 0;
  uint64_t close_deadline_ns_ = 0;
  uint64_t alloc_at_run_ = 0;
  bool ran_ = false;
  bool producing_ = false;   // kRun and the run clock has started
  bool load_alloc_recorded_ = false;
  size_t max_message_ = 0;
};

}  // namespace sb::bench
