#include "perf/bench/run.h"

#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/http/encoding.h"
#include "net/mqtt/reason_code.h"
#include "perf/bench/report.h"
#include "perf/bench/run_state.h"
#include "perf/bench/worker.h"

namespace sb::bench {

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

const char* FailureName(Failure failure) {
  switch (failure) {
    case Failure::kTcpConnect: return "tcp_connect_failed";
    case Failure::kConnectTimeout: return "connect_timeout";
    case Failure::kConnackRefused: return "connack_refused";
    case Failure::kSubackRefused: return "suback_refused";
    case Failure::kConnectionLost: return "connection_lost";
    case Failure::kServerDisconnect: return "server_disconnect";
    case Failure::kProtocolError: return "protocol_error";
    case Failure::kPacketTooLarge: return "packet_too_large";
    case Failure::kResponseTimeout: return "response_timeout";
    case Failure::kPubackTimeout: return "puback_timeout";
    case Failure::kPubackRefused: return "puback_refused";
    case Failure::kRequestsUnanswered: return "unanswered_at_close";
    case Failure::kForeignMessage: return "foreign_message";
    case Failure::kMisrouted: return "misrouted";
    case Failure::kWindowForgiven: return "window_forgiven";
    case Failure::kSocketError: return "socket_error";
    case Failure::kCount: break;
  }
  return "?";
}

namespace {

std::atomic<int> g_signal{0};

// Counts SIGINT/SIGTERM: the first ends the load (the run still drains and reports), the
// second also cuts the drain short.
void OnSignal(int) { g_signal.fetch_add(1); }

bool Resolve(const Target& target, Endpoint* out, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(target.port);
  const int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || !result) {
    *error = "cannot resolve '" + target.host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out->addr, result->ai_addr, result->ai_addrlen);
  out->length = result->ai_addrlen;
  out->ipv4_loopback = result->ai_family == AF_INET &&
                       (ntohl(reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr.s_addr) >> 24) == 127;
  freeaddrinfo(result);
  out->text = (target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host) + ":" + port;
  return true;
}

int64_t ReadRssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

double Seconds(uint64_t ns) { return double(ns) / 1e9; }

// Sums of every worker's counters, for the progress line and the phase decisions.
struct Totals {
  uint64_t sent_total = 0, sent_window = 0, unique_total = 0, unique_window = 0;
  uint64_t http_pending = 0, puback_pending = 0, http_ok = 0, http_errors = 0;
  uint64_t ready = 0, failed = 0, lost = 0, producers_done = 0, ramp_done = 0, failures = 0;
};

Totals Sum(const std::vector<std::unique_ptr<Worker>>& workers) {
  Totals t;
  for (const auto& w : workers) {
    const WorkerCounters& c = w->counters();
    t.sent_total += c.sent_total.Get();
    t.sent_window += c.sent_window.Get();
    t.unique_total += c.unique_total.Get();
    t.unique_window += c.unique_window.Get();
    t.http_pending += c.http_pending.Get();
    t.puback_pending += c.puback_pending.Get();
    t.http_ok += c.http_ok_total.Get();
    t.ready += c.connections_ready.Get();
    t.failed += c.connections_failed.Get();
    t.lost += c.connections_lost.Get();
    t.producers_done += c.producers_done.Get();
    t.ramp_done += c.ramp_done.Get();
    for (const Counter& f : c.failures) t.failures += f.Get();
    for (size_t s = 0; s < c.http_status.size(); ++s) {
      if (s < 200 || s >= 300) t.http_errors += c.http_status[s].Get();
    }
  }
  return t;
}

// The progress line: once a second, on stderr, overwriting itself on a terminal. Holds the
// previous histograms so it can show the p99 of the last second.
class Progress {
 public:
  Progress(const Options& options, bool enabled) : options_(options), enabled_(enabled) {
    if (!enabled_) return;
    last_ = std::make_unique<LatencyHistogram>();
    current_ = std::make_unique<LatencyHistogram>();
    scratch_ = std::make_unique<LatencyHistogram>();
  }

  void Update(const char* phase, double elapsed_s, const std::vector<std::unique_ptr<Worker>>& workers) {
    if (!enabled_) return;
    const uint64_t now = NowNs();
    const Totals t = Sum(workers);
    const double dt = last_ns_ ? Seconds(now - last_ns_) : 0;
    char line[256];
    if (options_.scenario == Scenario::kConnections) {
      const double rate = dt > 0 ? double(t.ready - last_ready_) / dt : 0;
      std::snprintf(line, sizeof(line), "[%6.1fs %-7s] open %" PRIu64 "/%u (%.0f/s)  failed %" PRIu64 "  dropped %" PRIu64,
                    elapsed_s, phase, t.ready - t.lost, options_.connections, rate, t.failed, t.lost);
      last_ready_ = t.ready;
    } else {
      // p99 of what was recorded since the last line.
      current_->Reset();
      for (const auto& w : workers) {
        scratch_->CopyFrom(options_.scenario == Scenario::kDirect ? w->counters().response : w->counters().delivery);
        current_->Merge(*scratch_);
      }
      scratch_->CopyFrom(*current_);
      scratch_->SubtractOlder(*last_);
      last_->CopyFrom(*current_);
      const double sent_rate = dt > 0 ? double(t.sent_total - last_sent_) / dt : 0;
      const double recv_rate = dt > 0 ? double(t.unique_total - last_recv_) / dt : 0;
      std::snprintf(line, sizeof(line), "[%6.1fs %-7s] sent %.0f/s  recv %.0f/s  errors %" PRIu64 "  p99 %s %.1f us",
                    elapsed_s, phase, sent_rate, recv_rate, t.failures + t.http_errors,
                    options_.scenario == Scenario::kDirect ? "http" : "delivery",
                    double(scratch_->ValueAtPercentile(99)) / 1000.0);
      last_sent_ = t.sent_total;
      last_recv_ = t.unique_total;
    }
    last_ns_ = now;
    if (isatty(STDERR_FILENO)) {
      std::fprintf(stderr, "\r\033[K%s", line);
      dirty_ = true;
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  // Rates of the next line count from here.
  void Baseline(const std::vector<std::unique_ptr<Worker>>& workers) {
    if (!enabled_) return;
    const Totals t = Sum(workers);
    last_ns_ = NowNs();
    last_sent_ = t.sent_total;
    last_recv_ = t.unique_total;
    last_ready_ = t.ready;
  }

  void Finish() {
    if (dirty_) std::fputc('\n', stderr);
    dirty_ = false;
  }

 private:
  const Options& options_;
  bool enabled_;
  bool dirty_ = false;
  uint64_t last_ns_ = 0, last_sent_ = 0, last_recv_ = 0, last_ready_ = 0;
  std::unique_ptr<LatencyHistogram> last_, current_, scratch_;
};

void SetPhase(Shared& shared, Phase phase) {
  shared.phase.store(phase, std::memory_order_release);
  for (Worker* w : shared.workers) w->Wake();
}

// Who plays what. Connections and their streams, spread round-robin over the workers.
void AssignConnections(const Plan& plan, Shared& shared, std::vector<std::unique_ptr<Worker>>& workers) {
  const Options& o = plan.options;
  const unsigned n = static_cast<unsigned>(workers.size());
  auto credit_owner = [&](uint32_t stream, unsigned worker) {
    if (shared.credits) shared.credits[stream].owner = worker;
  };
  switch (o.scenario) {
    case Scenario::kDirect:
      for (uint32_t i = 0; i < o.devices; ++i) workers[i % n]->AddConnection(Role::kDevice, i, i, 1);
      for (uint32_t s = 0; s < o.senders; ++s) workers[s % n]->AddConnection(Role::kSender, s, 0, 0);
      break;
    case Scenario::kPubsub:
      switch (o.mode) {
        case PubsubMode::kP2p:
          // A pair shares a worker, so its closed-loop credit never crosses threads.
          for (uint32_t i = 0; i < o.pairs; ++i) {
            workers[i % n]->AddConnection(Role::kSubscriber, i, i, 1);
            workers[i % n]->AddConnection(Role::kPublisher, i, i, 0);
            credit_owner(i, i % n);
          }
          break;
        case PubsubMode::kFanout:
          workers[0]->AddConnection(Role::kPublisher, 0, 0, 0);
          credit_owner(0, 0);
          for (uint32_t i = 0; i < o.subscribers; ++i) workers[i % n]->AddConnection(Role::kSubscriber, i, 0, 1);
          break;
        case PubsubMode::kFanin:
          workers[0]->AddConnection(Role::kSubscriber, 0, 0, o.publishers);
          for (uint32_t i = 0; i < o.publishers; ++i) {
            workers[i % n]->AddConnection(Role::kPublisher, i, i, 0);
            credit_owner(i, i % n);
          }
          break;
      }
      break;
    case Scenario::kConnections:
      for (uint32_t i = 0; i < o.connections; ++i) workers[i % n]->AddConnection(Role::kIdle, i, 0, 0);
      break;
  }
}

std::string ReasonLabel(const char* packet, unsigned code) {
  char buffer[128];
  std::snprintf(buffer, sizeof(buffer), "%s 0x%02x %s", packet, code, mqtt::ReasonCodeName(mqtt::ReasonCode(code)));
  return buffer;
}

}  // namespace

int RunBenchmark(const Options& options) {
  Plan plan;
  plan.options = options;
  const Options& o = plan.options;
  std::string error;
  if (!Resolve(o.mqtt, &plan.mqtt, &error) || (o.scenario == Scenario::kDirect && !Resolve(o.http, &plan.http, &error))) {
    std::fprintf(stderr, "switchboard-bench: %s\n", error.c_str());
    return 1;
  }
  switch (o.scenario) {
    case Scenario::kDirect:
      plan.producers = o.senders;
      plan.streams = o.devices;
      plan.connections = o.devices + o.senders;
      break;
    case Scenario::kPubsub:
      plan.producers = o.mode == PubsubMode::kP2p ? o.pairs : o.mode == PubsubMode::kFanout ? 1 : o.publishers;
      plan.streams = plan.producers;
      plan.receivers_per_message = o.mode == PubsubMode::kFanout ? o.subscribers : 1;
      plan.connections = o.mode == PubsubMode::kP2p ? 2 * o.pairs
                         : o.mode == PubsubMode::kFanout ? 1 + o.subscribers
                                                         : 1 + o.publishers;
      break;
    case Scenario::kConnections:
      plan.connections = o.connections;
      if (plan.mqtt.ipv4_loopback) plan.source_addresses = o.source_addresses ? o.source_addresses : 4;
      break;
  }
  if (o.scenario == Scenario::kDirect) {
    plan.http_host = plan.http.text;
    if (!o.http_basic_auth.empty()) {
      std::string encoded(http::Base64EncodedSize(o.http_basic_auth.size()), '\0');
      (void)http::Base64Encode(o.http_basic_auth, encoded.data(), encoded.size());
      plan.auth_header = "Authorization: Basic " + encoded + "\r\n";
    }
    if (plan.http_host.size() + plan.auth_header.size() > 1024) {
      std::fprintf(stderr, "switchboard-bench: HTTP host and credentials too long\n");
      return 2;
    }
  }

  // File descriptors: one per connection, plus rings, eventfds and stdio.
  const uint64_t needed = uint64_t{plan.connections} + 2ull * o.threads + 16;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, needed);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < needed) {
    std::fprintf(stderr,
                 "switchboard-bench: %u connections need %" PRIu64 " file descriptors, but this process may open only %" PRIu64
                 " (ulimit -n; hard limit %" PRIu64 "). Use at most %" PRIu64 " connections, or raise the limit.\n",
                 plan.connections, needed, uint64_t(limit.rlim_cur), uint64_t(limit.rlim_max),
                 uint64_t(limit.rlim_cur) - (needed - plan.connections));
    return 2;
  }

  Shared shared;
  shared.streams = std::make_unique<StreamTotals[]>(std::max<uint32_t>(plan.streams, 1));
  if (o.scenario == Scenario::kPubsub && !o.open_loop()) {
    shared.credits = std::make_unique<StreamCredit[]>(plan.streams);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(i, plan, shared));
  for (auto& w : workers) shared.workers.push_back(w.get());
  AssignConnections(plan, shared, workers);

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const bool show_progress = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO));
  Progress progress(o, show_progress);
  Results results;
  results.options = o;
  results.mqtt_target = plan.mqtt.text;
  results.http_target = o.scenario == Scenario::kDirect ? plan.http.text : "";
  results.warmup_s = o.scenario == Scenario::kConnections ? 0 : o.warmup_s;
  results.connections_planned = plan.connections;

  const uint64_t launched = NowNs();
  for (auto& w : workers) w->Start();
  auto finish = [&](int code) {
    SetPhase(shared, Phase::kClose);
    for (auto& w : workers) w->Join();
    progress.Finish();
    return code;
  };
  for (auto& w : workers) {
    while (!w->init_done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (w->init_failed()) {
      std::fprintf(stderr, "switchboard-bench: worker could not start: %s\n", w->init_error().c_str());
      return finish(1);
    }
  }

  // Set-up: every connection ready (CONNACK, SUBACK) before any load.
  if (o.scenario != Scenario::kConnections) {
    uint64_t next_line = NowNs() + 1'000'000'000;
    for (;;) {
      const Totals t = Sum(workers);
      if (t.ready + t.failed >= plan.connections) break;
      if (g_signal.load()) {
        std::fprintf(stderr, "switchboard-bench: interrupted during set-up\n");
        return finish(1);
      }
      if (NowNs() >= next_line) {
        progress.Update("connect", Seconds(NowNs() - launched), workers);
        next_line += 1'000'000'000;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const Totals t = Sum(workers);
    if (t.failed > 0) {
      // Which reasons: the first failures are the interesting ones.
      finish(1);
      std::fprintf(stderr, "switchboard-bench: %" PRIu64 " of %u connections could not be set up:\n", t.failed,
                   plan.connections);
      for (size_t f = 0; f < size_t(Failure::kCount); ++f) {
        uint64_t n = 0;
        for (auto& w : workers) n += w->counters().failures[f].Get();
        if (n) std::fprintf(stderr, "  %-22s %" PRIu64 "\n", FailureName(Failure(f)), n);
      }
      for (size_t e = 0; e < 160; ++e) {
        uint64_t n = 0;
        for (auto& w : workers) n += w->counters().connect_errno[e].Get();
        if (n) std::fprintf(stderr, "  connect: %s: %" PRIu64 "\n", std::strerror(int(e)), n);
      }
      for (unsigned code = 0; code < 256; ++code) {
        uint64_t connack = 0, suback = 0;
        for (auto& w : workers) {
          connack += w->counters().connack_reasons[code].Get();
          suback += w->counters().suback_reasons[code].Get();
        }
        if (connack) std::fprintf(stderr, "  %s: %" PRIu64 "\n", ReasonLabel("CONNACK", code).c_str(), connack);
        if (suback) std::fprintf(stderr, "  %s: %" PRIu64 "\n", ReasonLabel("SUBACK", code).c_str(), suback);
      }
      std::fprintf(stderr, "target: mqtt %s%s%s\n", plan.mqtt.text.c_str(),
                   o.scenario == Scenario::kDirect ? ", http " : "", o.scenario == Scenario::kDirect ? plan.http.text.c_str() : "");
      return 1;
    }
  }

  if (o.scenario == Scenario::kConnections && o.server_pid) results.rss_before_kb = ReadRssKb(o.server_pid);

  // Load.
  const uint64_t start = NowNs() + 2'000'000;  // every worker sees the phase before its first slot
  const uint64_t warmup_end = start + (o.scenario == Scenario::kConnections ? 0 : uint64_t(o.warmup_s * 1e9));
  const bool by_count = o.count > 0 && o.scenario != Scenario::kConnections;
  const uint64_t end =
      (by_count || o.scenario == Scenario::kConnections) ? UINT64_MAX : warmup_end + uint64_t(o.duration_s * 1e9);
  shared.start_ns.store(start, std::memory_order_relaxed);
  shared.warmup_end_ns.store(warmup_end, std::memory_order_relaxed);
  shared.end_ns.store(end, std::memory_order_relaxed);
  progress.Baseline(workers);
  SetPhase(shared, Phase::kRun);

  uint64_t next_line = start + 1'000'000'000;
  uint64_t window_end = end;
  uint64_t last_sent = 0, last_progress_at = start;
  uint64_t ramp_end = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(by_count ? 2 : 10));
    const uint64_t now = NowNs();
    if (g_signal.load()) {
      results.interrupted = true;
      window_end = std::max(now, warmup_end);
      break;
    }
    if (o.scenario == Scenario::kConnections) {
      const Totals t = Sum(workers);
      if (t.ready + t.failed >= plan.connections) {
        if (!ramp_end) ramp_end = now;
        if (now >= ramp_end + uint64_t(o.hold_s * 1e9)) break;
      } else if (now - start > uint64_t((double(plan.connections) / o.connect_rate + o.connect_timeout_s + 30) * 1e9)) {
        std::fprintf(stderr, "switchboard-bench: the ramp did not finish; giving up\n");
        break;
      }
    } else if (by_count) {
      const Totals t = Sum(workers);
      if (t.producers_done >= plan.producers) {
        window_end = now;
        break;
      }
      // Producers that lost their connection never finish: stop when nothing moves.
      if (t.sent_total != last_sent) {
        last_sent = t.sent_total;
        last_progress_at = now;
      } else if (now - last_progress_at > uint64_t((o.response_timeout_s + o.loss_timeout_s + 5) * 1e9)) {
        std::fprintf(stderr, "switchboard-bench: no progress; stopping before --count was reached\n");
        window_end = now;
        break;
      }
    } else if (now >= end) {
      break;
    }
    if (now >= next_line) {
      const char* phase = o.scenario == Scenario::kConnections ? (ramp_end ? "hold" : "ramp")
                          : now < warmup_end                   ? "warmup"
                                                               : "run";
      progress.Update(phase, Seconds(now - start), workers);
      next_line += 1'000'000'000;
    }
  }
  results.measured_s = window_end > warmup_end ? Seconds(std::min(window_end, NowNs()) - warmup_end) : 0;

  // Drain: no new messages; wait for what is in flight.
  if (o.scenario != Scenario::kConnections) {
    SetPhase(shared, Phase::kDrain);
    const uint64_t drain_start = NowNs();
    const uint64_t fan = plan.receivers_per_message;
    results.drained = false;
    const int signals_before = g_signal.load();
    while (NowNs() - drain_start < uint64_t(o.drain_timeout_s * 1e9) && g_signal.load() == signals_before) {
      const Totals t = Sum(workers);
      const bool answered = t.http_pending == 0 && t.puback_pending == 0;
      const bool delivered =
          o.scenario == Scenario::kDirect ? t.unique_total >= t.http_ok : t.unique_total >= t.sent_total * fan;
      if (answered && delivered) {
        results.drained = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    results.drain_s = Seconds(NowNs() - drain_start);
  } else {
    const Totals t = Sum(workers);
    results.connections_open_at_end = t.ready - t.lost;
    if (o.server_pid) results.rss_after_kb = ReadRssKb(o.server_pid);
    results.ramp_s = ramp_end ? Seconds(ramp_end - start) : Seconds(NowNs() - start);
  }
  finish(0);

  // Aggregate.
  auto delivery = std::make_unique<LatencyHistogram>();
  auto response = std::make_unique<LatencyHistogram>();
  auto connect = std::make_unique<LatencyHistogram>();
  std::vector<uint64_t> failures(static_cast<size_t>(Failure::kCount)), status(600);
  std::vector<uint64_t> connack(256), disconnect(256), puback(256), suback(256);
  std::vector<uint64_t> connect_errno(160);
  for (auto& w : workers) {
    const WorkerCounters& c = w->counters();
    delivery->Merge(c.delivery);
    response->Merge(c.response);
    connect->Merge(c.connect);
    results.sent_window += c.sent_window.Get();
    results.sent_total += c.sent_total.Get();
    results.received_window += c.unique_window.Get();
    results.received_total += c.unique_total.Get();
    results.connections_established += c.connections_ready.Get();
    results.connections_failed += c.connections_failed.Get();
    results.connections_lost += c.connections_lost.Get();
    results.reconnects += c.reconnects.Get();
    results.unsent_backlog += c.unsent_backlog.Get();
    results.suback_downgraded += c.suback_downgraded.Get();
    results.allocations_in_load += c.allocations_in_load.Get();
    for (size_t i = 0; i < failures.size(); ++i) failures[i] += c.failures[i].Get();
    for (size_t i = 0; i < status.size(); ++i) status[i] += c.http_status[i].Get();
    for (size_t i = 0; i < connect_errno.size(); ++i) connect_errno[i] += c.connect_errno[i].Get();
    for (size_t i = 0; i < 256; ++i) {
      connack[i] += c.connack_reasons[i].Get();
      disconnect[i] += c.disconnect_reasons[i].Get();
      puback[i] += c.puback_reasons[i].Get();
      suback[i] += c.suback_reasons[i].Get();
    }
    w->ForEachWindow([&](uint32_t stream, const SequenceWindow& window) {
      const StreamTotals& totals = shared.streams[stream];
      const uint64_t expected = o.scenario == Scenario::kDirect ? totals.accepted : totals.next_sequence;
      results.expected_total += expected;
      if (expected > window.unique()) results.lost += expected - window.unique();
      if (o.scenario == Scenario::kDirect && window.unique() > expected) {
        results.delivered_unconfirmed += window.unique() - expected;
      }
      results.duplicates += window.duplicates();
      results.reorders += window.reorders();
      results.too_old += window.too_old();
    });
  }
  results.delivery = Summarize(*delivery);
  results.response = Summarize(*response);
  results.connect = Summarize(*connect);
  for (size_t i = 0; i < failures.size(); ++i) {
    if (failures[i]) results.failures.emplace_back(FailureName(Failure(i)), failures[i]);
  }
  for (int i = 0; i < 600; ++i) {
    if (status[i]) {
      results.http_status.emplace_back(i, status[i]);
      results.http_answered += status[i];
    }
  }
  for (size_t i = 0; i < connect_errno.size(); ++i) {
    if (connect_errno[i]) results.reason_codes.emplace_back(std::string("connect: ") + std::strerror(int(i)), connect_errno[i]);
  }
  for (unsigned i = 0; i < 256; ++i) {
    if (connack[i]) results.reason_codes.emplace_back(ReasonLabel("CONNACK", i), connack[i]);
    if (suback[i]) results.reason_codes.emplace_back(ReasonLabel("SUBACK", i), suback[i]);
    if (puback[i]) results.reason_codes.emplace_back(ReasonLabel("PUBACK", i), puback[i]);
    if (disconnect[i]) results.reason_codes.emplace_back(ReasonLabel("DISCONNECT", i), disconnect[i]);
  }

  if (o.scenario == Scenario::kConnections) {
    results.exit_code = results.connections_established == 0            ? 1
                        : results.connections_failed || results.connections_lost ? 3
                                                                                 : 0;
  } else {
    const bool clean = results.failure_total() == 0 && results.http_errors() == 0 && results.lost == 0 &&
                       results.duplicates == 0 && results.received_window > 0;
    results.exit_code = results.sent_total == 0 ? 1 : clean ? 0 : 3;
  }
  if (results.interrupted) results.exit_code = 130;
  if (o.json) {
    PrintJson(stdout, results);
  } else {
    PrintTable(stdout, results);
  }
  std::fflush(stdout);
  return results.exit_code;
}

}  // namespace sb::bench
