// The figures of one run, as the end-of-run table for people and as one JSON object for
// scripts (every figure of the table is in the JSON). Built by run.cc after the workers
// joined; printing allocates freely (it is not the load phase).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "perf/bench/latency_histogram.h"
#include "perf/bench/options.h"

namespace sb::bench {

struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  uint64_t saturated = 0;  // recordings above the histogram's 60 s range
};
LatencySummary Summarize(const LatencyHistogram& histogram);

struct Results {
  Options options;
  std::string mqtt_target;
  std::string http_target;
  bool interrupted = false;  // SIGINT/SIGTERM cut the run short

  // Time.
  double warmup_s = 0;
  double measured_s = 0;  // the window the rates are over
  double drain_s = 0;
  bool drained = true;    // false: the drain timeout expired with messages outstanding

  // Messages. "window": stamped inside the measured window; "total": the whole run.
  uint64_t sent_window = 0, received_window = 0;
  uint64_t sent_total = 0, received_total = 0;
  uint64_t expected_total = 0;  // receipts the run should have seen (sent x receivers, or 2xx)
  uint64_t lost = 0, duplicates = 0, reorders = 0, too_old = 0;
  uint64_t delivered_unconfirmed = 0;  // direct: receipts beyond the 2xx answers (e.g. 504 yet delivered)
  uint64_t http_answered = 0;
  uint64_t unsent_backlog = 0;  // open loop: due by the end of the run but never sent

  std::vector<std::pair<std::string, uint64_t>> failures;     // reason -> count
  std::vector<std::pair<int, uint64_t>> http_status;          // status -> count
  std::vector<std::pair<std::string, uint64_t>> reason_codes; // "connack 0x87 Not authorized" -> count
  uint64_t suback_downgraded = 0;
  uint64_t reconnects = 0;

  LatencySummary delivery;  // stamp -> receipt
  LatencySummary response;  // stamp -> HTTP 2xx / PUBACK
  LatencySummary connect;   // connect start -> CONNACK (or TCP connect for HTTP)

  // Connections.
  uint64_t connections_planned = 0, connections_established = 0, connections_failed = 0;
  uint64_t connections_lost = 0, connections_open_at_end = 0;
  double ramp_s = 0;
  int64_t rss_before_kb = -1, rss_after_kb = -1;

  uint64_t allocations_in_load = 0;
  int exit_code = 0;

  double send_rate() const { return measured_s > 0 ? double(sent_window) / measured_s : 0; }
  double receive_rate() const { return measured_s > 0 ? double(received_window) / measured_s : 0; }
  uint64_t failure_total() const;
  uint64_t http_errors() const;  // answers outside 2xx
};

void PrintTable(std::FILE* out, const Results& results);
void PrintJson(std::FILE* out, const Results& results);

// "1,234,567"
std::string Grouped(uint64_t n);

}  // namespace sb::bench
