// Per-shard counters, written only by their shard and read by any shard that renders
// /metrics. Each counter is a relaxed atomic updated with a plain load+store (single
// writer), so the hot path pays no locked instruction.
#pragma once

#include <atomic>
#include <cstdint>

namespace sb::engine {

struct Counter {
  std::atomic<uint64_t> value{0};
  void Add(uint64_t n = 1) { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void Sub(uint64_t n = 1) { value.store(value.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t Get() const { return value.load(std::memory_order_relaxed); }
};

// Direct-message latency buckets (seconds) for a Prometheus histogram.
inline constexpr double kLatencyBucketsSeconds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1,      2.5,     5,      10,    15};
inline constexpr int kLatencyBucketCount = sizeof(kLatencyBucketsSeconds) / sizeof(double);

// The HTTP statuses a direct message can end with, in the order they are counted.
inline constexpr int kDirectStatuses[] = {200, 400, 401, 403, 404, 405, 413, 429, 500, 504};
inline constexpr int kDirectStatusCount = sizeof(kDirectStatuses) / sizeof(int);

struct ShardMetrics {
  Counter connections_accepted;
  Counter connections_refused;        // over max-connections
  Counter connections_mqtt;           // current
  Counter connections_http;           // current
  Counter connections_handed_off;     // moved to the owner shard after CONNECT
  Counter mqtt_sessions;              // current
  Counter mqtt_packets_in;
  Counter mqtt_protocol_errors;
  Counter mqtt_publish_in;
  Counter mqtt_publish_out;
  Counter mqtt_dropped_qos0;          // slow consumer: outbound buffer full
  Counter mqtt_slow_consumer_disconnects;
  Counter mqtt_takeovers;
  Counter mqtt_keepalive_timeouts;
  Counter http_requests;
  Counter http_bad_requests;          // framing errors (400/431/501/505)
  Counter direct_by_status[kDirectStatusCount];
  Counter direct_latency_buckets[kLatencyBucketCount + 1];  // last: +Inf
  Counter direct_latency_sum_us;
  Counter mailbox_items_in;
  Counter routed_publishes_out;       // cross-shard publish hand-offs
  Counter recv_buffer_exhausted;      // ENOBUFS from the provided-buffer ring
  Counter auth_verifications;         // passwords sent to the verifier (cache misses)
  Counter auth_failures;              // failed logins
  Counter auth_throttled;             // logins refused for too many recent failures
  Counter iam_denials;                // IAM decisions that said no
  Counter mqtt_publish_denied;        // PUBLISH refused by iot:Publish

  void CountDirect(int status, uint64_t latency_us) {
    for (int i = 0; i < kDirectStatusCount; ++i) {
      if (kDirectStatuses[i] == status) {
        direct_by_status[i].Add();
        break;
      }
    }
    double seconds = double(latency_us) / 1e6;
    int b = 0;
    while (b < kLatencyBucketCount && seconds > kLatencyBucketsSeconds[b]) ++b;
    direct_latency_buckets[b].Add();
    direct_latency_sum_us.Add(latency_us);
  }
};

}  // namespace sb::engine
