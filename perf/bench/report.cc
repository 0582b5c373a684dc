#include "perf/bench/report.h"

#include <cinttypes>

#include "net/http/encoding.h"

namespace sb::bench {
namespace {

double Us(uint64_t ns) { return double(ns) / 1000.0; }

const char* LoadShape(const Options& o, char* buffer, size_t size) {
  if (o.open_loop()) {
    std::snprintf(buffer, size, "open loop %.0f msg/s", o.rate);
  } else {
    std::snprintf(buffer, size, "closed loop, %u in flight per %s", o.inflight,
                  o.scenario == Scenario::kDirect ? "sender" : "publisher");
  }
  return buffer;
}

class Json {
 public:
  explicit Json(std::string* out) : out_(out) {}
  Json& Open(const char* key = nullptr) {
    Key(key);
    out_->push_back('{');
    first_ = true;
    return *this;
  }
  Json& Close() {
    out_->push_back('}');
    first_ = false;
    return *this;
  }
  Json& Str(const char* key, const std::string& value) {
    Key(key);
    out_->push_back('"');
    Escaped(value);
    out_->push_back('"');
    return *this;
  }
  Json& Num(const char* key, double value) {
    Key(key);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f", value);
    out_->append(buf);
    return *this;
  }
  Json& Int(const char* key, int64_t value) {
    Key(key);
    out_->append(std::to_string(value));
    return *this;
  }
  Json& Bool(const char* key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
    return *this;
  }
  Json& Null(const char* key) {
    Key(key);
    out_->append("null");
    return *this;
  }

 private:
  void Key(const char* key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    if (key) {
      out_->push_back('"');
      Escaped(key);
      out_->append("\":");
    }
  }
  void Escaped(std::string_view text) {
    struct Sink {
      std::string* s;
      void Append(std::string_view b) { s->append(b); }
    } sink{out_};
    http::AppendJsonEscaped(sink, text);
  }

  std::string* out_;
  bool first_ = true;
};

void LatencyJson(Json& j, const char* key, const LatencySummary& l) {
  j.Open(key)
      .Int("count", int64_t(l.count))
      .Num("mean", l.mean_us)
      .Num("p50", l.p50_us)
      .Num("p90", l.p90_us)
      .Num("p99", l.p99_us)
      .Num("p99_9", l.p999_us)
      .Num("max", l.max_us)
      .Int("above_range", int64_t(l.saturated))
      .Close();
}

void LatencyRow(std::FILE* out, const char* name, const LatencySummary& l) {
  if (l.count == 0) return;
  std::fprintf(out, "  %-20s %11s %10.1f %10.1f %10.1f %10.1f %10.1f\n", name, Grouped(l.count).c_str(), l.p50_us,
               l.p90_us, l.p99_us, l.p999_us, l.max_us);
}

}  // namespace

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

LatencySummary Summarize(const LatencyHistogram& h) {
  LatencySummary s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.mean_us = h.mean_ns() / 1000.0;
  s.p50_us = Us(h.ValueAtPercentile(50));
  s.p90_us = Us(h.ValueAtPercentile(90));
  s.p99_us = Us(h.ValueAtPercentile(99));
  s.p999_us = Us(h.ValueAtPercentile(99.9));
  s.max_us = Us(h.max_ns());
  s.saturated = h.saturated();
  return s;
}

uint64_t Results::failure_total() const {
  uint64_t n = 0;
  for (const auto& [name, count] : failures) n += count;
  return n;
}

uint64_t Results::http_errors() const {
  uint64_t n = 0;
  for (const auto& [status, count] : http_status) {
    if (status < 200 || status >= 300) n += count;
  }
  return n;
}

void PrintTable(std::FILE* out, const Results& r) {
  const Options& o = r.options;
  char shape[96];
  const char* version = o.mqtt_version == mqtt::Version::kV5 ? "MQTT 5" : "MQTT 3.1.1";
  std::fprintf(out, "\nswitchboard-bench %s", ScenarioName(o.scenario));
  switch (o.scenario) {
    case Scenario::kDirect:
      std::fprintf(out, ": %u devices (%s), %u HTTP senders, confirmation=%s, payload %u B, %s, %u thread%s\n",
                   o.devices, version, o.senders, o.confirm ? "true" : "false", o.payload,
                   LoadShape(o, shape, sizeof(shape)), o.threads, o.threads == 1 ? "" : "s");
      std::fprintf(out, "target: mqtt %s, http %s\n", r.mqtt_target.c_str(), r.http_target.c_str());
      break;
    case Scenario::kPubsub: {
      std::fprintf(out, " %s: ", PubsubModeName(o.mode));
      if (o.mode == PubsubMode::kP2p) std::fprintf(out, "%u pairs", o.pairs);
      if (o.mode == PubsubMode::kFanout) std::fprintf(out, "1 publisher -> %u subscribers", o.subscribers);
      if (o.mode == PubsubMode::kFanin) std::fprintf(out, "%u publishers -> 1 subscriber", o.publishers);
      std::fprintf(out, ", %s, QoS %u, payload %u B, %s, %u thread%s\n", version, o.qos, o.payload,
                   LoadShape(o, shape, sizeof(shape)), o.threads, o.threads == 1 ? "" : "s");
      std::fprintf(out, "target: mqtt %s\n", r.mqtt_target.c_str());
      break;
    }
    case Scenario::kConnections:
      std::fprintf(out, ": %u idle connections (%s) at %.0f/s, hold %.0f s, %u thread%s\n", o.connections, version,
                   o.connect_rate, o.hold_s, o.threads, o.threads == 1 ? "" : "s");
      std::fprintf(out, "target: mqtt %s\n", r.mqtt_target.c_str());
      break;
  }
  if (r.interrupted) std::fprintf(out, "INTERRUPTED: figures cover the run up to the signal\n");

  if (o.scenario == Scenario::kConnections) {
    std::fprintf(out, "\n  connections planned      %12s\n", Grouped(r.connections_planned).c_str());
    std::fprintf(out, "  established              %12s   in %.2f s = %.0f/s\n", Grouped(r.connections_established).c_str(),
                 r.ramp_s, r.ramp_s > 0 ? double(r.connections_established) / r.ramp_s : 0.0);
    std::fprintf(out, "  failed                   %12s\n", Grouped(r.connections_failed).c_str());
    std::fprintf(out, "  dropped during hold      %12s\n", Grouped(r.connections_lost).c_str());
    std::fprintf(out, "  open at end of hold      %12s\n", Grouped(r.connections_open_at_end).c_str());
    if (r.rss_before_kb >= 0 && r.rss_after_kb >= 0) {
      const double per = r.connections_open_at_end
                             ? double(r.rss_after_kb - r.rss_before_kb) * 1024.0 / double(r.connections_open_at_end)
                             : 0.0;
      std::fprintf(out, "  server VmRSS before      %12s kB\n", Grouped(uint64_t(r.rss_before_kb)).c_str());
      std::fprintf(out, "  server VmRSS after       %12s kB   (%+.0f bytes per open connection)\n",
                   Grouped(uint64_t(r.rss_after_kb)).c_str(), per);
    }
  } else {
    std::fprintf(out, "measured %.2f s after %.2f s warmup; drain %.2f s%s\n", r.measured_s, r.warmup_s, r.drain_s,
                 r.drained ? "" : " (drain timeout: what was still in flight counts as lost)");
    std::fprintf(out, "\n  %-20s %14s %14s\n", "messages", "count", "per second");
    std::fprintf(out, "  %-20s %14s %14.1f\n", "sent", Grouped(r.sent_window).c_str(), r.send_rate());
    std::fprintf(out, "  %-20s %14s %14.1f\n", "received", Grouped(r.received_window).c_str(), r.receive_rate());
    if (o.scenario == Scenario::kDirect) {
      std::fprintf(out, "  %-20s %14s\n", "HTTP answers (all)", Grouped(r.http_answered).c_str());
    }
    if (o.open_loop()) {
      std::fprintf(out, "  %-20s %14s%s\n", "behind schedule", Grouped(r.unsent_backlog).c_str(),
                   r.unsent_backlog ? "   (scheduled, never sent: the target did not keep up)" : "");
    }
    const double loss_pct = r.expected_total ? 100.0 * double(r.lost) / double(r.expected_total) : 0.0;
    std::fprintf(out, "  whole run (incl. warmup): sent %s, expected receipts %s, received %s\n",
                 Grouped(r.sent_total).c_str(), Grouped(r.expected_total).c_str(), Grouped(r.received_total).c_str());
    std::fprintf(out, "  %-20s %14s   (%.4f%%)\n", "lost", Grouped(r.lost).c_str(), loss_pct);
    std::fprintf(out, "  %-20s %14s\n", "duplicates", Grouped(r.duplicates).c_str());
    std::fprintf(out, "  %-20s %14s%s\n", "reordered", Grouped(r.reorders).c_str(),
                 r.too_old ? "   (some too far behind to tell from duplicates)" : "");
    if (r.delivered_unconfirmed) {
      std::fprintf(out, "  %-20s %14s   (received without a 2xx answer)\n", "unconfirmed", Grouped(r.delivered_unconfirmed).c_str());
    }
  }

  std::fprintf(out, "\n  %-20s %11s %10s %10s %10s %10s %10s\n", "latency (us)", "count", "p50", "p90", "p99", "p99.9", "max");
  LatencyRow(out, o.scenario == Scenario::kDirect ? "send -> device" : "send -> subscriber", r.delivery);
  LatencyRow(out, o.scenario == Scenario::kDirect ? "send -> HTTP 2xx" : "send -> PUBACK", r.response);
  LatencyRow(out, "connect -> CONNACK", r.connect);
  if (!o.open_loop() && o.scenario != Scenario::kConnections) {
    std::fprintf(out, "  (closed loop: latencies from the actual send time)\n");
  } else if (o.scenario != Scenario::kConnections) {
    std::fprintf(out, "  (open loop: latencies from each message's scheduled send time)\n");
  }

  if (!r.http_status.empty()) {
    std::fprintf(out, "\n  HTTP status:");
    for (const auto& [status, count] : r.http_status) std::fprintf(out, "  %d x %s", status, Grouped(count).c_str());
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "\n  failures:");
  if (r.failures.empty()) std::fprintf(out, " none");
  for (const auto& [name, count] : r.failures) std::fprintf(out, "\n    %-24s %12s", name.c_str(), Grouped(count).c_str());
  std::fprintf(out, "\n");
  for (const auto& [name, count] : r.reason_codes) std::fprintf(out, "    %-40s %12s\n", name.c_str(), Grouped(count).c_str());
  if (r.suback_downgraded) std::fprintf(out, "    SUBACK granted a lower QoS: %s\n", Grouped(r.suback_downgraded).c_str());
  if (r.reconnects) std::fprintf(out, "    HTTP reconnects: %s\n", Grouped(r.reconnects).c_str());
  std::fprintf(out, "\n  heap allocations by the workers during load: %s\n", Grouped(r.allocations_in_load).c_str());
  std::fprintf(out, "  exit status %d\n", r.exit_code);
}

void PrintJson(std::FILE* out, const Results& r) {
  const Options& o = r.options;
  std::string s;
  Json j(&s);
  j.Open();
  j.Str("scenario", ScenarioName(o.scenario));
  if (o.scenario == Scenario::kPubsub) j.Str("mode", PubsubModeName(o.mode));
  j.Open("settings");
  j.Str("mqtt", r.mqtt_target);
  if (o.scenario == Scenario::kDirect) j.Str("http", r.http_target);
  j.Int("mqtt_version", o.mqtt_version == mqtt::Version::kV5 ? 5 : 3);
  j.Int("threads", o.threads);
  switch (o.scenario) {
    case Scenario::kDirect:
      j.Int("devices", o.devices).Int("senders", o.senders).Bool("confirm", o.confirm);
      break;
    case Scenario::kPubsub:
      j.Int("qos", o.qos);
      if (o.mode == PubsubMode::kP2p) j.Int("pairs", o.pairs);
      if (o.mode == PubsubMode::kFanout) j.Int("subscribers", o.subscribers);
      if (o.mode == PubsubMode::kFanin) j.Int("publishers", o.publishers);
      break;
    case Scenario::kConnections:
      j.Int("connections", o.connections).Num("connect_rate", o.connect_rate).Num("hold_s", o.hold_s);
      break;
  }
  if (o.scenario != Scenario::kConnections) {
    j.Str("load", o.open_loop() ? "open" : "closed");
    if (o.open_loop()) {
      j.Num("rate", o.rate).Int("max_outstanding", o.max_outstanding);
    } else {
      j.Int("inflight", o.inflight);
    }
    j.Int("payload", o.payload);
    if (o.count) j.Int("count", int64_t(o.count));
    else j.Num("duration_s", o.duration_s);
    j.Num("warmup_s", o.warmup_s);
  }
  j.Close();
  j.Bool("interrupted", r.interrupted);
  if (o.scenario != Scenario::kConnections) {
    j.Num("measured_s", r.measured_s).Num("drain_s", r.drain_s).Bool("drained", r.drained);
    j.Int("sent", int64_t(r.sent_window)).Int("received", int64_t(r.received_window));
    j.Num("send_rate", r.send_rate()).Num("receive_rate", r.receive_rate());
    j.Int("sent_total", int64_t(r.sent_total)).Int("expected_total", int64_t(r.expected_total));
    j.Int("received_total", int64_t(r.received_total));
    j.Int("lost", int64_t(r.lost)).Int("duplicates", int64_t(r.duplicates)).Int("reorders", int64_t(r.reorders));
    j.Int("too_old", int64_t(r.too_old));
    if (o.open_loop()) j.Int("unsent_backlog", int64_t(r.unsent_backlog));
    if (o.scenario == Scenario::kDirect) {
      j.Int("http_answered", int64_t(r.http_answered)).Int("delivered_unconfirmed", int64_t(r.delivered_unconfirmed));
    }
  } else {
    j.Open("connections");
    j.Int("planned", int64_t(r.connections_planned)).Int("established", int64_t(r.connections_established));
    j.Int("failed", int64_t(r.connections_failed)).Int("dropped_during_hold", int64_t(r.connections_lost));
    j.Int("open_at_end", int64_t(r.connections_open_at_end)).Num("ramp_s", r.ramp_s);
    j.Num("connect_rate", r.ramp_s > 0 ? double(r.connections_established) / r.ramp_s : 0.0);
    if (r.rss_before_kb >= 0) j.Int("server_rss_before_kb", r.rss_before_kb);
    else j.Null("server_rss_before_kb");
    if (r.rss_after_kb >= 0) j.Int("server_rss_after_kb", r.rss_after_kb);
    else j.Null("server_rss_after_kb");
    if (r.rss_before_kb >= 0 && r.rss_after_kb >= 0 && r.connections_open_at_end) {
      j.Num("server_rss_bytes_per_connection",
            double(r.rss_after_kb - r.rss_before_kb) * 1024.0 / double(r.connections_open_at_end));
    } else {
      j.Null("server_rss_bytes_per_connection");
    }
    j.Close();
  }
  j.Open("latency_us");
  LatencyJson(j, o.scenario == Scenario::kDirect ? "device" : "delivery", r.delivery);
  LatencyJson(j, o.scenario == Scenario::kDirect ? "http_response" : "puback", r.response);
  LatencyJson(j, "connect", r.connect);
  j.Close();
  j.Open("http_status");
  for (const auto& [status, count] : r.http_status) j.Int(std::to_string(status).c_str(), int64_t(count));
  j.Close();
  j.Open("failures");
  for (const auto& [name, count] : r.failures) j.Int(name.c_str(), int64_t(count));
  j.Close();
  j.Open("reason_codes");
  for (const auto& [name, count] : r.reason_codes) j.Int(name.c_str(), int64_t(count));
  j.Close();
  j.Int("suback_downgraded", int64_t(r.suback_downgraded)).Int("reconnects", int64_t(r.reconnects));
  j.Int("allocations_in_load", int64_t(r.allocations_in_load));
  j.Int("exit_code", r.exit_code);
  j.Close();
  s.push_back('\n');
  std::fputs(s.c_str(), out);
}

}  // namespace sb::bench
