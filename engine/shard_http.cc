// The HTTP side of a shard: request framing (keep-alive, pipelining, chunked bodies), the
// operational endpoints, and the sender end of direct messages.
#include <cinttypes>
#include <cstring>
#include <string>

#include "engine/log.h"
#include "engine/session.h"
#include "engine/shard.h"
#include "engine/shard_set.h"
#include "net/http/encoding.h"
#include "net/http/response.h"
#include "net/proxy/proxy_protocol.h"

namespace sb::engine {

namespace {

// Appends to a connection's output queue (the http::ByteSink the response writers use).
struct OutputSink {
  Shard* shard;
  Connection* c;
  void Append(std::string_view bytes);
};

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonWriter& Field(std::string_view key, std::string_view value) {
    Key(key);
    out_->push_back('"');
    http::AppendJsonEscaped(*this, value);
    out_->push_back('"');
    return *this;
  }
  JsonWriter& Number(std::string_view key, uint64_t value) {
    Key(key);
    out_->append(std::to_string(value));
    return *this;
  }
  void Append(std::string_view bytes) { out_->append(bytes); }
  std::string& Close() {
    out_->push_back('}');
    return *out_;
  }

 private:
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(key);
    out_->append("\":");
  }
  std::string* out_;
  bool first_ = true;
};

}  // namespace

void OutputSink::Append(std::string_view bytes) { shard->QueueOutputBytes(c, bytes); }

void Shard::QueueOutputBytes(Connection* c, std::string_view bytes) { QueueOutput(c, bytes.data(), bytes.size()); }

// ---------------------------------------------------------------------------------------
// PROXY protocol (either listener)

size_t Shard::ProcessProxyHeader(Connection* c, const uint8_t* data, size_t size) {
  std::span<const uint8_t> buffer(data, size);
  proxy::ProxyParseResult result = proxy::ParseProxyHeader(buffer, 16 + 1024);
  if (result.status == proxy::ProxyParseStatus::kNeedMore) return 0;
  if (result.status == proxy::ProxyParseStatus::kError) {
    LOG_WARN("shard=%u event=proxy_header_rejected why=\"%s\"", id_, result.error);
    CloseConnection(c, "bad PROXY header");
    return size;
  }
  const proxy::ProxyInfo& info = result.info;
  if (!info.local && (info.family == proxy::AddressFamily::kInet || info.family == proxy::AddressFamily::kInet6)) {
    c->peer.family = info.family == proxy::AddressFamily::kInet ? AF_INET : AF_INET6;
    c->peer.port = info.source.port;
    std::memcpy(c->peer.address, info.source.ip.data(), 16);
  }
  c->state = c->protocol == Protocol::kMqtt ? ConnState::kAwaitConnect : ConnState::kActive;
  return result.consumed;
}

// ---------------------------------------------------------------------------------------
// Framing

size_t Shard::ProcessHttp(Connection* c, const uint8_t* data, size_t size) {
  const Limits& limits = config_->limits;
  http::Limits head_limits{limits.http_max_head_bytes, limits.http_max_headers};
  size_t used = 0;
  while (used < size && !c->awaiting && !c->close_after_flush && c->state == ConnState::kActive) {
    std::string_view buffer(reinterpret_cast<const char*>(data + used), size - used);
    http::RequestHead& head = scratch_head_;
    http::ParseResult parsed = http::ParseRequestHead(buffer, head_limits, &head);
    if (parsed.status == http::ParseStatus::kNeedMore) break;
    if (parsed.status == http::ParseStatus::kError) {
      // The framing of whatever follows is unknown: answer, then close.
      metrics_.http_bad_requests.Add();
      RespondError(c, parsed.error.http_status, parsed.error.reason, /*close=*/true);
      CloseAfterFlush(c);
      return size;
    }
    const bool direct = head.path.substr(0, 13) == "/connections/";
    const uint64_t body_limit = direct ? limits.max_direct_payload : limits.http_max_body;
    std::string_view body;
    size_t request_bytes = parsed.consumed_bytes;
    if (head.chunked) {
      // Measure first (the decoder is stateless across calls here); decode once complete.
      http::ChunkedDecoder measure(body_limit);
      size_t body_size = 0;
      auto result = measure.Decode(buffer.substr(parsed.consumed_bytes), [&](std::string_view piece) { body_size += piece.size(); });
      if (result.status == http::ParseStatus::kError) {
        metrics_.http_bad_requests.Add();
        if (result.error.http_status == 413) {
          RespondDirectOrPlainError(c, direct, 413, "PAYLOAD_TOO_LARGE", "The request body exceeds the limit.");
        } else {
          RespondError(c, result.error.http_status, result.error.reason, true);
        }
        c->keep_alive = false;
        CloseAfterFlush(c);
        return size;
      }
      if (result.status == http::ParseStatus::kNeedMore) {
        MaybeSendContinue(c, head);
        break;
      }
      body_scratch_.clear();
      body_scratch_.reserve(body_size);
      http::ChunkedDecoder decoder(body_limit);
      decoder.Decode(buffer.substr(parsed.consumed_bytes), [&](std::string_view piece) { body_scratch_.append(piece); });
      body = body_scratch_;
      request_bytes += result.consumed_bytes;
    } else if (head.content_length && *head.content_length > 0) {
      if (*head.content_length > body_limit) {
        // Refuse before reading a byte of it; the unread body makes the connection unusable.
        RespondDirectOrPlainError(c, direct, 413, "PAYLOAD_TOO_LARGE",
                                  "The payload of " + std::to_string(*head.content_length) +
                                      " bytes exceeds the limit of " + std::to_string(body_limit) + " bytes.");
        c->keep_alive = false;
        CloseAfterFlush(c);
        return size;
      }
      if (buffer.size() - parsed.consumed_bytes < *head.content_length) {
        MaybeSendContinue(c, head);
        break;
      }
      body = buffer.substr(parsed.consumed_bytes, *head.content_length);
      request_bytes += *head.content_length;
    }
    c->keep_alive = head.keep_alive && !draining_;
    if (!HandleHttpRequest(c, head, body)) break;  // parked: parsed again on resume
    used += request_bytes;
    c->continue_sent = false;
    metrics_.http_requests.Add();
    if (!c->awaiting && !c->keep_alive) {
      CloseAfterFlush(c);
      return size;
    }
  }
  return used;
}

void Shard::MaybeSendContinue(Connection* c, const http::RequestHead& head) {
  if (head.expect_continue && !c->continue_sent) {
    c->continue_sent = true;
    QueueOutputBytes(c, http::kContinueResponse);
  }
}

// ---------------------------------------------------------------------------------------
// Routes

bool Shard::HandleHttpRequest(Connection* c, const http::RequestHead& head, std::string_view body) {
  if (head.path == "/health") {
    // Unauthenticated on purpose: load balancers probe it.
    if (head.method != "GET" && head.method != "HEAD") {
      RespondError(c, 405, "use GET", false);
      return true;
    }
    std::string json;
    JsonWriter writer(&json);
    writer.Field("status", draining_ || set_->draining() ? "draining" : "ok").Number("shards", set_->size());
    writer.Close();
    RespondJson(c, draining_ || set_->draining() ? 503 : 200, json);
    return true;
  }
  std::string_view encoded_client_id;
  const bool direct = MatchDirectRoute(head.path, &encoded_client_id);
  const control::Principal* principal = nullptr;
  switch (AuthenticateHttp(c, head, &principal)) {
    case AuthResult::kPending:
      return false;
    case AuthResult::kBadCredentials:
    case AuthResult::kNoCredentials:
      RespondUnauthorized(c, direct, /*bad_credentials=*/http::FindHeader(head, "authorization").has_value());
      return true;
    case AuthResult::kOk:
      break;
  }
  if (direct) {
    if (head.method != "POST") {
      static const http::HeaderField kAllow[] = {{"Allow", "POST"}};
      RespondDirect(c, 405, "METHOD_NOT_ALLOWED", "Use POST to send a direct message.", false, 0, kAllow);
      return true;
    }
    HandleDirectMessage(c, principal, encoded_client_id, head, body);
    return true;
  }
  if (head.path == "/metrics") {
    if (head.method != "GET") {
      RespondError(c, 405, "use GET", false);
      return true;
    }
    std::string text = RenderMetrics();
    OutputSink sink{this, c};
    http::ResponseHead response;
    response.status = 200;
    response.content_type = "text/plain; version=0.0.4";
    response.close_connection = !c->keep_alive;
    (void)http::WriteResponse(sink, response, text);
    return true;
  }
  if (head.path.starts_with("/admin/") || head.path.starts_with("/api/2/policies/") ||
      head.path.starts_with("/api/2/things/")) {
    ForwardToControlPlane(c, head, body, principal);
    return true;
  }
  RespondError(c, 404, "no such route", false);
  return true;
}

void Shard::RespondJson(Connection* c, int status, std::string_view json, bool close,
                        std::span<const http::HeaderField> extra) {
  OutputSink sink{this, c};
  http::ResponseHead response;
  response.status = status;
  response.content_type = "application/json";
  response.close_connection = close || !c->keep_alive;
  response.extra_headers = extra;
  if (close) c->keep_alive = false;
  (void)http::WriteResponse(sink, response, json);
}

void Shard::RespondError(Connection* c, int status, std::string_view message, bool close) {
  std::string json;
  JsonWriter(&json).Number("status", status).Field("message", message).Close();
  RespondJson(c, status, json, close);
}

void Shard::RespondDirect(Connection* c, int status, std::string_view reason, std::string_view message, bool close,
                          uint64_t latency_us, std::span<const http::HeaderField> extra) {
  metrics_.CountDirect(status, latency_us);
  std::string json;
  JsonWriter writer(&json);
  writer.Field("message", message);
  if (!reason.empty()) writer.Field("reason", reason);
  writer.Field("traceId", NewTraceId()).Close();
  RespondJson(c, status, json, close, extra);
}

void Shard::RespondDirectOrPlainError(Connection* c, bool direct, int status, std::string_view reason, std::string message) {
  if (!direct) return RespondError(c, status, message, true);
  RespondDirect(c, status, reason, message, /*close=*/true);
}

std::string Shard::NewTraceId() {
  char buffer[40];
  // Unique per process run: shard, start time and a per-shard counter.
  std::snprintf(buffer, sizeof(buffer), "%02x%08" PRIx64 "%06" PRIx64, unsigned(id_), set_->started_at_ms() & 0xFFFFFFFF,
                ++trace_counter_);
  return buffer;
}

// ---------------------------------------------------------------------------------------
// Direct messages: the sender end

void Shard::HandleDirectMessage(Connection* c, const control::Principal* principal, std::string_view encoded_client_id,
                                const http::RequestHead& head, std::string_view body) {
  DirectError error;
  DirectRequest* request = ParseDirectRequest(encoded_client_id, head, body, config_->limits, &error);
  if (!request) {
    RespondDirect(c, error.status, error.reason, error.message);
    return;
  }
  if (!Allowed(principal, policy::IotAction::kSendDirectMessage, request->client_id, {}, {}, request->topic)) {
    DirectRequest::Free(request);
    RespondDirect(c, 403, "SENDER_NOT_AUTHORIZED", "The sender is not allowed iot:SendDirectMessage for this client and topic.");
    return;
  }
  if (!c->sender_rate.Take(now_ms_)) {
    DirectRequest::Free(request);
    RespondDirect(c, 429, "SENDER_RATE_EXCEEDED", "The sender exceeded its direct message request rate.");
    return;
  }
  request->token = TokenOf(c);
  request->origin_shard = id_;
  request->accepted_us = now_us_;
  Park(c, Connection::Awaiting::kDirectResult);
  uint16_t owner = OwnerOf(request->client_id);
  if (owner == id_) {
    DeliverDirect(request);
  } else {
    MailItem item{};
    item.kind = MailItem::Kind::kDirectRequest;
    item.ptr = request;
    Send(owner, item);
  }
}

void Shard::OnDirectResult(uint64_t token, uint64_t packed) {
  uint32_t index = static_cast<uint32_t>(token);
  uint32_t generation = static_cast<uint32_t>(token >> 32);
  if (index >= connections_.size()) return;
  Connection* c = connections_[index];
  // The sender may have gone away (or its slot been reused) while the device was busy.
  if (c->generation != generation || c->state != ConnState::kActive || !c->awaiting ||
      c->awaiting_what != Connection::Awaiting::kDirectResult) {
    return;
  }
  c->awaiting = false;
  c->awaiting_what = Connection::Awaiting::kNothing;
  auto [outcome, puback_reason] = UnpackOutcome(packed);
  OutcomeDescription d = DescribeOutcome(outcome);
  std::string_view message = d.message;
  char with_code[160];
  if (outcome == DirectOutcome::kPubackRejected) {
    int n = std::snprintf(with_code, sizeof(with_code), "%s (reason code 0x%02x)", d.message, unsigned(puback_reason));
    message = std::string_view(with_code, static_cast<size_t>(n));
  }
  RespondDirect(c, d.status, d.status == 200 ? std::string_view() : std::string_view(d.reason), message, false,
                now_us_ - c->awaiting_since_us);
  if (!c->keep_alive) {
    CloseAfterFlush(c);
    return;
  }
  // Pipelined requests that waited behind this one go now.
  if (c->input && c->input->readable() > 0) ProcessParkedInput(c);
}

// ---------------------------------------------------------------------------------------
// /metrics

std::string Shard::RenderMetrics() const {
  std::string out;
  out.reserve(8192);
  char line[256];
  auto gauge_header = [&](const char* name, const char* help, const char* type) {
    std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    out.append(line);
  };
  auto per_shard = [&](const char* name, const char* help, const char* type, auto getter) {
    gauge_header(name, help, type);
    for (size_t i = 0; i < set_->size(); ++i) {
      std::snprintf(line, sizeof(line), "%s{shard=\"%zu\"} %" PRIu64 "\n", name, i, uint64_t(getter(set_->shard(i))));
      out.append(line);
    }
  };
  gauge_header("switchboard_connections", "Open connections by protocol.", "gauge");
  for (size_t i = 0; i < set_->size(); ++i) {
    const ShardMetrics& m = set_->shard(i).metrics();
    std::snprintf(line, sizeof(line), "switchboard_connections{shard=\"%zu\",protocol=\"mqtt\"} %" PRIu64 "\n", i, m.connections_mqtt.Get());
    out.append(line);
    std::snprintf(line, sizeof(line), "switchboard_connections{shard=\"%zu\",protocol=\"http\"} %" PRIu64 "\n", i, m.connections_http.Get());
    out.append(line);
  }
  per_shard("switchboard_connections_accepted_total", "Connections accepted.", "counter",
            [](const Shard& s) { return s.metrics().connections_accepted.Get(); });
  per_shard("switchboard_connections_refused_total", "Connections refused at max-connections.", "counter",
            [](const Shard& s) { return s.metrics().connections_refused.Get(); });
  per_shard("switchboard_connections_handed_off_total", "MQTT connections moved to their owner shard after CONNECT.", "counter",
            [](const Shard& s) { return s.metrics().connections_handed_off.Get(); });
  per_shard("switchboard_mqtt_sessions", "Connected MQTT sessions.", "gauge",
            [](const Shard& s) { return s.metrics().mqtt_sessions.Get(); });
  per_shard("switchboard_mqtt_packets_received_total", "MQTT packets received.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_packets_in.Get(); });
  per_shard("switchboard_mqtt_protocol_errors_total", "MQTT connections closed for protocol errors.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_protocol_errors.Get(); });
  per_shard("switchboard_mqtt_publish_received_total", "PUBLISH packets received from clients.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_publish_in.Get(); });
  per_shard("switchboard_mqtt_publish_sent_total", "PUBLISH packets sent to clients.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_publish_out.Get(); });
  per_shard("switchboard_mqtt_dropped_qos0_total", "QoS 0 messages dropped for slow consumers.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_dropped_qos0.Get(); });
  per_shard("switchboard_mqtt_slow_consumer_disconnects_total", "Clients disconnected for not reading.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_slow_consumer_disconnects.Get(); });
  per_shard("switchboard_mqtt_takeovers_total", "Sessions taken over by a new connection with the same client ID.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_takeovers.Get(); });
  per_shard("switchboard_mqtt_keepalive_timeouts_total", "Clients disconnected after 1.5x keep-alive of silence.", "counter",
            [](const Shard& s) { return s.metrics().mqtt_keepalive_timeouts.Get(); });
  per_shard("switchboard_http_requests_total", "HTTP requests.", "counter",
            [](const Shard& s) { return s.metrics().http_requests.Get(); });
  per_shard("switchboard_http_bad_requests_total", "HTTP requests rejected by the parser.", "counter",
            [](const Shard& s) { return s.metrics().http_bad_requests.Get(); });
  per_shard("switchboard_mailbox_items_total", "Cross-shard items received.", "counter",
            [](const Shard& s) { return s.metrics().mailbox_items_in.Get(); });
  per_shard("switchboard_mailbox_depth", "Cross-shard items waiting (approximate).", "gauge",
            [](const Shard& s) { return const_cast<Shard&>(s).inbox().ApproxDepth(); });
  per_shard("switchboard_routed_publishes_total", "PUBLISH hand-offs to other shards.", "counter",
            [](const Shard& s) { return s.metrics().routed_publishes_out.Get(); });
  per_shard("switchboard_auth_verifications_total", "Password verifications run off-shard (cache misses).", "counter",
            [](const Shard& s) { return s.metrics().auth_verifications.Get(); });
  per_shard("switchboard_auth_failures_total", "Failed logins.", "counter",
            [](const Shard& s) { return s.metrics().auth_failures.Get(); });
  per_shard("switchboard_auth_throttled_total", "Logins refused after too many recent failures.", "counter",
            [](const Shard& s) { return s.metrics().auth_throttled.Get(); });
  per_shard("switchboard_iam_denials_total", "IAM decisions that denied.", "counter",
            [](const Shard& s) { return s.metrics().iam_denials.Get(); });
  per_shard("switchboard_recv_buffers_exhausted_total", "Times every provided receive buffer was in use.", "counter",
            [](const Shard& s) { return s.metrics().recv_buffer_exhausted.Get(); });

  gauge_header("switchboard_direct_messages_total", "Direct messages by HTTP status.", "counter");
  for (size_t i = 0; i < set_->size(); ++i) {
    const ShardMetrics& m = set_->shard(i).metrics();
    for (int k = 0; k < kDirectStatusCount; ++k) {
      std::snprintf(line, sizeof(line), "switchboard_direct_messages_total{shard=\"%zu\",status=\"%d\"} %" PRIu64 "\n", i,
                    kDirectStatuses[k], m.direct_by_status[k].Get());
      out.append(line);
    }
  }
  gauge_header("switchboard_direct_latency_seconds", "Direct message latency, request to answer.", "histogram");
  for (size_t i = 0; i < set_->size(); ++i) {
    const ShardMetrics& m = set_->shard(i).metrics();
    uint64_t cumulative = 0;
    for (int b = 0; b <= kLatencyBucketCount; ++b) {
      cumulative += m.direct_latency_buckets[b].Get();
      if (b < kLatencyBucketCount) {
        std::snprintf(line, sizeof(line), "switchboard_direct_latency_seconds_bucket{shard=\"%zu\",le=\"%g\"} %" PRIu64 "\n", i,
                      kLatencyBucketsSeconds[b], cumulative);
      } else {
        std::snprintf(line, sizeof(line), "switchboard_direct_latency_seconds_bucket{shard=\"%zu\",le=\"+Inf\"} %" PRIu64 "\n", i,
                      cumulative);
      }
      out.append(line);
    }
    std::snprintf(line, sizeof(line), "switchboard_direct_latency_seconds_sum{shard=\"%zu\"} %.6f\n", i,
                  double(m.direct_latency_sum_us.Get()) / 1e6);
    out.append(line);
    std::snprintf(line, sizeof(line), "switchboard_direct_latency_seconds_count{shard=\"%zu\"} %" PRIu64 "\n", i, cumulative);
    out.append(line);
  }
  return out;
}

}  // namespace sb::engine
