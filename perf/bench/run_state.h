// What the main thread and the worker threads of one benchmark run share: the plan (fixed
// before the workers start), the run phase and its clock, per-stream totals and the
// closed-loop delivery credits, and each worker's counters.
//
// Threads: Plan is immutable once workers start. Phase and the run clock are written by the
// main thread (clock first, then the phase with release order) and read by workers.
// StreamTotals entries are written only by the stream's producer thread and read after the
// workers joined. StreamCredit is the one cross-thread hot spot: receivers add deliveries,
// the producer reads them (see worker.cc). WorkerCounters are single-writer relaxed atomics
// that the main thread may read at any time for the progress line.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "perf/bench/latency_histogram.h"
#include "perf/bench/options.h"

namespace sb::bench {

class Worker;

enum class Phase : uint8_t {
  kSetup,  // connect, CONNACK, SUBACK; no load
  kRun,    // load (warmup, then the measured window)
  kDrain,  // no new messages; wait for deliveries and answers
  kClose,  // DISCONNECT and close everything, then the workers return
};

// Why something failed. Every failure is counted by reason and reported.
enum class Failure : uint8_t {
  kTcpConnect,          // connect() failed (refused, unreachable, ...)
  kConnectTimeout,      // no CONNACK (or TCP connect) within --connect-timeout
  kConnackRefused,      // CONNACK with a failure reason code (see connack_reasons)
  kSubackRefused,       // SUBACK with a failure reason code
  kConnectionLost,      // the server closed the connection or it broke
  kServerDisconnect,    // DISCONNECT from the server (see disconnect_reasons)
  kProtocolError,       // the server sent something we cannot parse or did not expect
  kPacketTooLarge,      // a packet from the server over our receive buffer / its max size
  kResponseTimeout,     // no HTTP response within --response-timeout
  kPubackTimeout,       // no PUBACK within --response-timeout
  kPubackRefused,       // PUBACK with a failure reason code (see puback_reasons)
  kRequestsUnanswered,  // HTTP requests outstanding when the connection closed
  kForeignMessage,      // a PUBLISH without our stamp
  kMisrouted,           // a stamped message at a receiver it was not meant for
  kWindowForgiven,      // closed loop: a window waited --loss-timeout and was released
  kSocketError,         // socket()/bind() failed locally (e.g. out of file descriptors)
  kCount,
};
const char* FailureName(Failure failure);

// A single-writer counter that other threads may read while it changes.
class Counter {
 public:
  void Add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void Sub(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct WorkerCounters {
  Counter sent_total;            // messages produced (stamped), all phases
  Counter sent_window;           // ... whose timestamp is in the measured window
  Counter unique_total;          // first receipt of a message, all phases
  Counter unique_window;         // ... whose timestamp is in the measured window
  Counter duplicates;            // a message received again by the same receiver
  Counter http_pending;          // requests sent, not answered
  Counter puback_pending;        // QoS 1 PUBLISH sent, not acknowledged
  Counter http_ok_total;         // 2xx answers
  Counter connections_ready;     // set-up (or ramp) completed
  Counter connections_failed;    // set-up (or ramp) failed
  Counter connections_lost;      // closed unexpectedly after being ready
  Counter connects_attempted;
  Counter producers_done;        // producers that reached their --count quota
  Counter reconnects;            // HTTP senders reconnected after the server closed
  Counter unsent_backlog;        // open loop: scheduled before the end, never sent
  Counter allocations_in_load;   // heap allocations by the worker thread in kRun + kDrain
  Counter ramp_done;             // connections scenario: 1 when every connection resolved
  std::array<Counter, size_t(Failure::kCount)> failures;
  std::array<Counter, 600> http_status;
  std::array<Counter, 256> connack_reasons;
  std::array<Counter, 256> disconnect_reasons;
  std::array<Counter, 256> puback_reasons;
  std::array<Counter, 256> suback_reasons;
  Counter suback_downgraded;     // granted QoS below the requested one
  std::array<Counter, 160> connect_errno;  // why connect() failed, by errno

  LatencyHistogram delivery;  // stamp time -> receipt at the subscriber/device
  LatencyHistogram response;  // stamp time -> HTTP response (direct) or PUBACK (QoS 1)
  LatencyHistogram connect;   // connect() start -> CONNACK (or TCP established for HTTP)
};

// Closed-loop pub/sub credit of one stream (publisher). Receivers add to deliveries; when
// the producer waits for credit it sets `waiting`, and the receiver that sees it wakes the
// producer's worker. On its own cache line: it is written by other threads.
struct alignas(64) StreamCredit {
  std::atomic<uint64_t> deliveries{0};
  std::atomic<bool> waiting{false};
  uint32_t owner = 0;  // worker of the producer
};

// Per stream, written only by the stream's producer thread.
struct StreamTotals {
  uint64_t next_sequence = 0;  // == messages stamped for this stream
  uint64_t accepted = 0;       // direct: 2xx answers for this device
};

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t length = 0;
  bool ipv4_loopback = false;
  std::string text;  // host:port as given
};

struct Plan {
  Options options;
  Endpoint mqtt;
  Endpoint http;
  uint32_t source_addresses = 0;       // bind to 127.0.0.1..K round-robin; 0: no bind
  uint32_t producers = 0;              // publishers (pubsub) or senders (direct)
  uint32_t streams = 0;                // stamped sequences: publishers, or devices (direct)
  uint32_t receivers_per_message = 1;  // fanout: subscribers
  uint32_t connections = 0;
  std::string http_host;    // Host header
  std::string auth_header;  // "Authorization: Basic ...\r\n" or empty
};

struct Shared {
  std::atomic<Phase> phase{Phase::kSetup};
  // The run clock (steady ns); written before phase becomes kRun.
  std::atomic<uint64_t> start_ns{0};
  std::atomic<uint64_t> warmup_end_ns{0};
  std::atomic<uint64_t> end_ns{UINT64_MAX};  // UINT64_MAX with --count
  std::unique_ptr<StreamCredit[]> credits;   // closed-loop pub/sub only
  std::unique_ptr<StreamTotals[]> streams;
  std::vector<Worker*> workers;
};

uint64_t NowNs();  // steady clock

}  // namespace sb::bench
