// The MQTT side of a shard: CONNECT and the move to the owning shard, sessions, pub/sub
// routing across shards, and the device end of direct messages.
#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/log.h"
#include "engine/session.h"
#include "engine/shard.h"
#include "engine/shard_set.h"
#include "net/mqtt/codec.h"
#include "net/http/encoding.h"
#include "net/mqtt/topic.h"

namespace sb::engine {

using mqtt::ReasonCode;
using mqtt::Version;

namespace {

Inflight* InflightOfTimer(Timer* timer) {
  return reinterpret_cast<Inflight*>(reinterpret_cast<char*>(timer) - offsetof(Inflight, deadline));
}

Version VersionOf(const Session* s) { return s->IsV5() ? Version::kV5 : Version::kV311; }

}  // namespace

template <class Packet>
void Shard::WritePacket(Connection* c, const Packet& packet, mqtt::Version version) {
  size_t n = mqtt::EncodedSize(packet, version);
  mqtt::Encode(packet, version, ReserveOutput(c, n));
  CommitOutput(c, n);
}

// ---------------------------------------------------------------------------------------
// Bytes in

size_t Shard::ProcessMqtt(Connection* c, const uint8_t* data, size_t size) {
  size_t used = 0;
  while (used < size && c->state != ConnState::kClosing && c->state != ConnState::kFree && !c->close_after_flush &&
         !c->awaiting) {
    std::span<const uint8_t> buffer(data + used, size - used);
    mqtt::Frame frame = mqtt::PeekFrame(buffer, config_->limits.mqtt_max_packet);
    if (frame.status == mqtt::FrameStatus::kNeedMore) break;
    if (frame.status == mqtt::FrameStatus::kMalformed) {
      ProtocolError(c, 0x81, "malformed fixed header");
      return size;
    }
    if (frame.status == mqtt::FrameStatus::kTooLarge) {
      ProtocolError(c, 0x95, "packet larger than the maximum packet size");
      return size;
    }
    metrics_.mqtt_packets_in.Add();
    std::span<const uint8_t> body = frame.Body(buffer);
    if (c->state == ConnState::kAwaitConnect) {
      if (frame.type != mqtt::PacketType::kConnect) {
        metrics_.mqtt_protocol_errors.Add();
        CloseConnection(c, "first packet is not CONNECT");
        return size;
      }
      mqtt::Connect connect;
      mqtt::Status status = mqtt::DecodeConnect(body, frame.flags, &connect);
      if (!status.ok()) {
        RefuseConnect(c, connect, status.reason, status.message);
        return size;
      }
      // The session must live on the shard that owns the client ID: move there first.
      // (An empty ID gets an assigned one that hashes to this shard.)
      if (!connect.client_id.empty()) {
        uint16_t owner = OwnerOf(connect.client_id);
        if (owner != id_) {
          HandOff(c, owner, buffer.data(), buffer.size());
          return size;
        }
      }
      c->mqtt_version = connect.protocol_level == 5 ? 5 : 4;
      const control::Principal* principal = nullptr;
      AuthResult auth = AuthenticateMqtt(c, connect, &principal);
      if (auth == AuthResult::kPending) break;  // CONNECT stays parked until the verdict
      used += frame.total_size();
      if (auth == AuthResult::kBadCredentials) {
        RefuseConnect(c, connect, ReasonCode::kBadUserNameOrPassword, "bad user name or password");
        return size;
      }
      if (auth == AuthResult::kNoCredentials) {
        RefuseConnect(c, connect, ReasonCode::kNotAuthorized, "anonymous access is off");
        return size;
      }
      HandleConnect(c, connect, principal);
      continue;
    }
    used += frame.total_size();
    HandleMqttPacket(c, frame.type, frame.flags, body);
  }
  return used;
}

void Shard::HandleMqttPacket(Connection* c, mqtt::PacketType type, uint8_t flags, std::span<const uint8_t> body) {
  Session* s = c->session;
  const Version version = VersionOf(s);
  switch (type) {
    case mqtt::PacketType::kPublish:
      HandlePublish(c, flags, body);
      return;
    case mqtt::PacketType::kPuback: {
      mqtt::Puback puback;
      mqtt::Status status = mqtt::DecodePuback(version, flags, body, &puback);
      if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
      HandlePuback(s, puback.packet_id, uint8_t(puback.reason_code));
      return;
    }
    case mqtt::PacketType::kSubscribe:
      HandleSubscribe(c, flags, body);
      return;
    case mqtt::PacketType::kUnsubscribe:
      HandleUnsubscribe(c, flags, body);
      return;
    case mqtt::PacketType::kPingreq: {
      mqtt::Pingreq ping;
      mqtt::Status status = mqtt::DecodePingreq(version, flags, body, &ping);
      if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
      static constexpr uint8_t kPingresp[2] = {0xD0, 0x00};
      QueueOutput(c, kPingresp, sizeof(kPingresp));
      return;
    }
    case mqtt::PacketType::kDisconnect: {
      mqtt::Disconnect disconnect;
      mqtt::Status status = mqtt::DecodeDisconnect(version, flags, body, &disconnect);
      if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
      // A normal DISCONNECT discards the Will; 0x04 asks for it to be published.
      if (disconnect.reason_code != ReasonCode::kDisconnectWithWillMessage) s->will.reset();
      CloseAfterFlush(c);
      return;
    }
    case mqtt::PacketType::kConnect:
      return ProtocolError(c, 0x82, "second CONNECT");
    case mqtt::PacketType::kPubrec:
    case mqtt::PacketType::kPubrel:
    case mqtt::PacketType::kPubcomp:
      // We never send QoS 2 and refuse QoS 2 PUBLISH, so no QoS 2 flow can exist.
      return ProtocolError(c, 0x82, "QoS 2 flow packet without a QoS 2 exchange");
    case mqtt::PacketType::kAuth:
      return ProtocolError(c, 0x82, "AUTH without an authentication method");
    default:
      return ProtocolError(c, 0x82, "packet type not sent by clients");
  }
}

// ---------------------------------------------------------------------------------------
// CONNECT

void Shard::RefuseConnect(Connection* c, const mqtt::Connect& connect, ReasonCode reason, const char* why) {
  metrics_.mqtt_protocol_errors.Add();
  LOG_DEBUG("shard=%u event=connect_refused reason=0x%02x why=\"%s\"", id_, unsigned(reason), why);
  const bool v5 = connect.protocol_level == 5;
  mqtt::Connack connack;
  connack.reason_code = reason;
  bool send = v5;
  if (!v5) {
    // 3.1.1 has return codes only for these; anything else just closes (3.1.1 3.2.2.3).
    switch (mqtt::ToV311ConnackCode(reason)) {
      case mqtt::V311ConnackCode::kUnacceptableProtocolVersion:
      case mqtt::V311ConnackCode::kIdentifierRejected:
      case mqtt::V311ConnackCode::kBadUserNameOrPassword:
      case mqtt::V311ConnackCode::kNotAuthorized:
        send = reason != ReasonCode::kMalformedPacket && reason != ReasonCode::kProtocolError;
        break;
      default:
        send = reason == ReasonCode::kServerUnavailable || reason == ReasonCode::kServerBusy;
    }
  }
  if (send) {
    Version version = v5 ? Version::kV5 : Version::kV311;
    WritePacket(c, connack, version);
  }
  c->mqtt_version = v5 ? 5 : 4;
  CloseAfterFlush(c);
}

void Shard::HandleConnect(Connection* c, const mqtt::Connect& connect, const control::Principal* principal) {
  const bool v5 = connect.version == Version::kV5;
  c->mqtt_version = v5 ? 5 : 4;
  const Limits& limits = config_->limits;

  if (draining_) return RefuseConnect(c, connect, v5 ? ReasonCode::kServerShuttingDown : ReasonCode::kServerUnavailable, "draining");
  if (v5 && connect.properties.authentication_method) {
    return RefuseConnect(c, connect, ReasonCode::kBadAuthenticationMethod, "enhanced authentication is not supported");
  }

  // Client identifier: assign one for an empty ID (3.1.1 only with a clean session).
  std::string client_id(connect.client_id);
  bool assigned = false;
  if (client_id.empty()) {
    if (!v5 && !connect.clean_start) {
      return RefuseConnect(c, connect, ReasonCode::kClientIdentifierNotValid, "empty client ID needs a clean session");
    }
    client_id = AssignClientId();
    assigned = true;
  }
  if (!mqtt::ValidateClientId(client_id, limits.max_client_id_bytes).ok()) {
    return RefuseConnect(c, connect, ReasonCode::kClientIdentifierNotValid, "client ID too long or not UTF-8");
  }
  if (!Allowed(principal, policy::IotAction::kConnect, client_id, client_id, ThingNameFor(client_id))) {
    return RefuseConnect(c, connect, ReasonCode::kNotAuthorized, "iot:Connect denied");
  }

  // The Will: we keep it (and publish it on an abnormal close) but cannot retain or do QoS 2.
  std::unique_ptr<WillMessage> will;
  if (connect.will) {
    const mqtt::Will& w = *connect.will;
    if (w.qos > 1) return RefuseConnect(c, connect, ReasonCode::kQosNotSupported, "will QoS 2");
    if (w.retain && v5) return RefuseConnect(c, connect, ReasonCode::kRetainNotSupported, "retained will");
    mqtt::TopicLimits topic_limits{limits.max_topic_bytes, limits.max_topic_levels};
    if (!mqtt::ValidateTopicName(w.topic, topic_limits).ok()) {
      return RefuseConnect(c, connect, ReasonCode::kTopicNameInvalid, "will topic outside the topic limits");
    }
    will = std::make_unique<WillMessage>();
    will->topic.assign(w.topic);
    will->payload.assign(reinterpret_cast<const char*>(w.payload.data()), w.payload.size());
    will->qos = w.qos;
    // Keep the forwardable properties in one owned string.
    mqtt::Publish as_publish;
    as_publish.properties = w.properties;
    ForwardedProperties fp = ForwardableProperties(as_publish);
    RoutedMessage* holder = RoutedMessage::Create(w.topic, {}, {}, fp, w.qos, 1);
    if (holder) {
      // Copy the serialized properties out of the temporary block into the will.
      const ForwardedProperties& p = holder->properties();
      will->properties_storage.reserve(p.StorageBytes());
      auto keep = [&](std::string_view s) {
        size_t at = will->properties_storage.size();
        will->properties_storage.append(s);
        return at;
      };
      size_t ct = keep(p.content_type), rt = keep(p.response_topic), cd = keep(p.correlation_data), up = keep(p.user_properties_wire);
      std::string_view all = will->properties_storage;
      will->properties.payload_format = p.payload_format;
      will->properties.message_expiry = p.message_expiry;
      will->properties.content_type = all.substr(ct, p.content_type.size());
      will->properties.response_topic = all.substr(rt, p.response_topic.size());
      will->properties.correlation_data = all.substr(cd, p.correlation_data.size());
      will->properties.user_properties_wire = all.substr(up, p.user_properties_wire.size());
      holder->Release();
    }
  }

  uint16_t keepalive = connect.keep_alive;
  bool keepalive_changed = false;
  if (limits.max_keepalive_s && (keepalive == 0 || keepalive > limits.max_keepalive_s)) {
    keepalive = static_cast<uint16_t>(limits.max_keepalive_s);
    keepalive_changed = true;
  }

  // Take-over: the newest connection for a client ID wins (MQTT 5: 0x8E to the old one).
  if (auto it = sessions_.find(std::string_view(client_id)); it != sessions_.end()) {
    Connection* old = it->second->connection;
    metrics_.mqtt_takeovers.Add();
    LOG_DEBUG("shard=%u event=session_takeover client_id=\"%s\"", id_, client_id.c_str());
    SendDisconnect(old, 0x8E);
    DetachSession(old);
    CloseAfterFlush(old);
  }

  auto* s = new Session;
  s->client_id = std::move(client_id);
  s->connection = c;
  s->version = v5 ? 5 : 4;
  s->keepalive_s = keepalive;
  uint32_t receive_maximum = connect.properties.receive_maximum.value_or(65535);
  s->inflight_limit = static_cast<uint16_t>(std::max<uint32_t>(1, std::min<uint32_t>(limits.inflight_per_client, receive_maximum)));
  s->max_packet_size = connect.properties.maximum_packet_size.value_or(0);
  s->topic_alias_max = v5 ? static_cast<uint16_t>(std::min<uint32_t>(limits.topic_alias_max, 65535)) : 0;
  s->outbound_rate = TokenBucket(limits.device_rate, limits.device_burst);
  s->will = std::move(will);
  s->principal_name = principal->name;
  BindPrincipal(s, principal);
  sessions_.emplace(std::string_view(s->client_id), s);
  c->session = s;
  c->state = ConnState::kActive;
  metrics_.mqtt_sessions.Add();

  if (keepalive > 0) {
    timers_.Schedule(&c->idle_timer, now_ms_ + uint64_t(keepalive) * 1500);
  } else {
    timers_.Cancel(&c->idle_timer);
  }

  mqtt::Connack connack;
  connack.session_present = false;  // sessions are never kept (SPEC: route, never queue)
  if (v5) {
    mqtt::Properties& p = connack.properties;
    if (assigned) p.assigned_client_identifier = std::string_view(s->client_id);
    p.maximum_qos = 1;
    p.retain_available = false;
    p.topic_alias_maximum = s->topic_alias_max;
    p.receive_maximum = static_cast<uint16_t>(std::clamp<uint32_t>(limits.receive_maximum, 1, 65535));
    p.maximum_packet_size = limits.mqtt_max_packet;
    p.wildcard_subscription_available = true;
    p.subscription_identifier_available = false;
    p.shared_subscription_available = false;
    if (keepalive_changed) p.server_keep_alive = keepalive;
    if (connect.properties.session_expiry_interval.value_or(0) > 0) p.session_expiry_interval = 0;
  }
  const Version version = VersionOf(s);
  WritePacket(c, connack, version);
}

std::string Shard::AssignClientId() {
  // Pick an ID this shard owns, so the connection does not have to move.
  char buffer[48];
  while (true) {
    int n = std::snprintf(buffer, sizeof(buffer), "sb-%u-%llx", unsigned(id_),
                          static_cast<unsigned long long>(++assigned_id_counter_ ^ (now_us_ << 16)));
    std::string_view candidate(buffer, static_cast<size_t>(n));
    if (OwnerOf(candidate) == id_ && !sessions_.count(candidate)) return std::string(candidate);
  }
}

// ---------------------------------------------------------------------------------------
// Errors and goodbyes

void Shard::SendDisconnect(Connection* c, uint8_t reason) {
  if (c->mqtt_version != 5 || c->state != ConnState::kActive || c->close_after_flush) return;
  mqtt::Disconnect disconnect;
  disconnect.reason_code = static_cast<ReasonCode>(reason);
  WritePacket(c, disconnect, Version::kV5);
}

void Shard::ProtocolError(Connection* c, uint8_t reason, const char* why) {
  metrics_.mqtt_protocol_errors.Add();
  LOG_DEBUG("shard=%u event=mqtt_protocol_error reason=0x%02x why=\"%s\"", id_, unsigned(reason), why);
  SendDisconnect(c, reason);  // MQTT 5 says why; 3.1.1 can only close
  CloseAfterFlush(c);
}

void Shard::DetachSession(Connection* c) {
  Session* s = c->session;
  if (!s) return;
  c->session = nullptr;
  // Anyone waiting for a PUBACK from this device gets the answer now, not at the timeout.
  if (s->inflight) {
    for (uint16_t i = 0; i < s->inflight_limit; ++i) {
      Inflight& slot = s->inflight[i];
      if (slot.packet_id == 0) continue;
      if (slot.direct && slot.waiting) {
        timers_.Cancel(&slot.deadline);
        ReplyDirect(slot.origin_shard, slot.token, draining_ ? DirectOutcome::kShuttingDown : DirectOutcome::kConnectionClosed);
        --pending_confirmations_;
      }
      slot.packet_id = 0;
    }
  }
  for (RoutedMessage* m : s->pending) m->Release();
  s->pending.clear();
  for (const SubscriptionEntry& sub : s->subscriptions) {
    if (routing_.Unsubscribe(sub.filter, s)) BroadcastInterest(sub.filter, false);
  }
  // The Will goes out next turn: publishing here could re-enter a delivery in progress.
  if (s->will && !draining_) deferred_wills_.push_back({s->client_id, std::move(s->will)});
  auto it = sessions_.find(std::string_view(s->client_id));
  if (it != sessions_.end() && it->second == s) sessions_.erase(it);
  metrics_.mqtt_sessions.Sub();
  delete s;
  if (draining_ && pending_confirmations_ == 0) FinishDrain();
}

void Shard::PublishDeferredWills() {
  std::vector<DeferredWill> wills;
  wills.swap(deferred_wills_);
  for (DeferredWill& d : wills) {
    WillMessage& w = *d.will;
    std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(w.payload.data()), w.payload.size());
    RoutePublish(d.client_id, w.topic, payload, w.qos, w.properties);
  }
}

// ---------------------------------------------------------------------------------------
// PUBLISH from a device: validate, route to every shard with interest

void Shard::HandlePublish(Connection* c, uint8_t flags, std::span<const uint8_t> body) {
  Session* s = c->session;
  const Version version = VersionOf(s);
  mqtt::Publish publish;
  mqtt::Status status = mqtt::DecodePublish(version, flags, body, &publish);
  if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
  metrics_.mqtt_publish_in.Add();
  if (publish.qos > 1) {
    // QoS 2 is not supported: MQTT 5 advertised Maximum QoS 1 (DISCONNECT 0x9B); 3.1.1
    // has no way to say so and closes.
    return ProtocolError(c, 0x9B, "QoS 2 PUBLISH");
  }
  if (publish.retain && s->IsV5()) return ProtocolError(c, 0x9A, "retain is not supported");

  std::string_view topic = publish.topic;
  if (s->IsV5() && publish.properties.topic_alias) {
    uint16_t alias = *publish.properties.topic_alias;
    if (alias == 0 || alias > s->topic_alias_max) return ProtocolError(c, 0x94, "topic alias out of range");
    if (!s->topic_aliases) s->topic_aliases = std::make_unique<std::string[]>(s->topic_alias_max);
    std::string& slot = s->topic_aliases[alias - 1];
    if (!topic.empty()) {
      slot.assign(topic);
    } else if (slot.empty()) {
      return ProtocolError(c, 0x82, "unknown topic alias");
    } else {
      topic = slot;
    }
  }
  if (topic.empty()) return ProtocolError(c, 0x82, "empty topic name");
  const Limits& limits = config_->limits;
  mqtt::TopicLimits topic_limits{limits.max_topic_bytes, limits.max_topic_levels};
  if (!mqtt::ValidateTopicName(topic, topic_limits).ok()) {
    return ProtocolError(c, 0x90, "topic name outside the topic limits");
  }
  if (s->IsV5() && publish.properties.payload_format_indicator.value_or(0) == 1 &&
      !http::ValidUtf8(std::string_view(reinterpret_cast<const char*>(publish.payload.data()), publish.payload.size()))) {
    if (publish.qos == 1) {
      SendPuback(c, publish.packet_id, ReasonCode::kPayloadFormatInvalid);
      return;
    }
    return ProtocolError(c, 0x99, "payload is not UTF-8 as its format indicator says");
  }

  if (!SessionAllowed(s, policy::IotAction::kPublish, topic)) {
    // MQTT 5 says so in the PUBACK; 3.1.1 has no way to refuse a PUBLISH, so the message is
    // dropped (QoS 1 is still acknowledged, as AWS IoT's MQTT 3.1.1 behaviour allows) and
    // counted, and the device stays connected.
    metrics_.mqtt_publish_denied.Add();
    if (publish.qos == 1) SendPuback(c, publish.packet_id, s->IsV5() ? ReasonCode::kNotAuthorized : ReasonCode::kSuccess);
    return;
  }
  bool delivered = RoutePublish(s->client_id, topic, publish.payload, publish.qos, ForwardableProperties(publish));
  if (publish.qos == 1) {
    SendPuback(c, publish.packet_id, delivered ? ReasonCode::kSuccess : ReasonCode::kNoMatchingSubscribers);
  }
}

void Shard::SendPuback(Connection* c, uint16_t packet_id, ReasonCode reason) {
  mqtt::Puback puback;
  puback.packet_id = packet_id;
  puback.reason_code = reason;
  Version version = c->mqtt_version == 5 ? Version::kV5 : Version::kV311;
  WritePacket(c, puback, version);
}

bool Shard::RoutePublish(std::string_view publisher_id, std::string_view topic, std::span<const uint8_t> payload,
                         uint8_t qos, const ForwardedProperties& properties) {
  uint64_t shards = routing_.InterestedShards(topic);
  if (shards == 0) return false;
  RoutedMessage* message = RoutedMessage::Create(topic, payload, publisher_id, properties, qos,
                                                 static_cast<uint32_t>(std::popcount(shards)));
  if (!message) {
    LOG_ERROR("shard=%u event=publish_dropped reason=out_of_memory", id_);
    return false;
  }
  bool local = false;
  for (uint64_t rest = shards; rest; rest &= rest - 1) {
    uint16_t shard = static_cast<uint16_t>(std::countr_zero(rest));
    if (shard == id_) {
      local = true;
      continue;
    }
    MailItem item{};
    item.kind = MailItem::Kind::kPublish;
    item.ptr = message;
    Send(shard, item);
    metrics_.routed_publishes_out.Add();
  }
  if (local) DeliverRouted(message);  // last, so the hand-offs are staged first
  return true;
}

// ---------------------------------------------------------------------------------------
// Delivery to this shard's sessions

void Shard::DeliverRouted(RoutedMessage* message) {
  ++delivery_epoch_;
  // Taken out of the member so a nested delivery cannot invalidate this loop.
  std::vector<Session*> targets;
  targets.swap(delivery_targets_);
  targets.clear();
  const uint64_t epoch = delivery_epoch_;
  routing_.ForEachLocalSubscriber(message->topic(), [&](const LocalSubscriber& sub) {
    Session* s = sub.session;
    if (sub.no_local && s->client_id == message->publisher_id()) return;
    if (s->delivery_epoch != epoch) {
      // Overlapping subscriptions deliver once, at the highest granted QoS.
      s->delivery_epoch = epoch;
      s->delivery_qos = sub.qos;
      targets.push_back(s);
    } else {
      s->delivery_qos = std::max(s->delivery_qos, sub.qos);
    }
  });
  for (Session* s : targets) {
    // iot:Receive is checked on every delivery, so a Deny stops an existing subscription.
    if (!SessionAllowed(s, policy::IotAction::kReceive, message->topic())) continue;
    DeliverToSession(s, message, std::min(message->qos(), s->delivery_qos));
  }
  targets.swap(delivery_targets_);  // keep the capacity for the next delivery
  message->Release();
}

void Shard::DeliverToSession(Session* s, RoutedMessage* message, uint8_t qos) {
  Connection* c = s->connection;
  if (qos == 0) {
    if (c->QueuedOutputBytes() > config_->limits.outbound_buffer_bytes) {
      metrics_.mqtt_dropped_qos0.Add();  // a slow consumer loses QoS 0 first
      return;
    }
    WritePublish(s, message->topic(), message->payload(), 0, 0, message->properties());
    return;
  }
  if (s->inflight_used < s->inflight_limit && s->pending.empty()) {
    uint16_t packet_id = AllocateInflight(s);
    if (WritePublish(s, message->topic(), message->payload(), 1, packet_id, message->properties()) != WriteResult::kOk) {
      FreeInflight(s, packet_id);
    }
    return;
  }
  // Window full: hold the message until a PUBACK frees a slot, within the output budget.
  if (s->pending.size() >= kMaxPendingPerSession || c->QueuedOutputBytes() > config_->limits.outbound_buffer_bytes) {
    metrics_.mqtt_slow_consumer_disconnects.Add();
    LOG_WARN("shard=%u event=slow_consumer_disconnected client_id=\"%s\"", id_, s->client_id.c_str());
    SendDisconnect(c, 0x97);  // Quota exceeded
    CloseAfterFlush(c);
    return;
  }
  message->AddReference();
  s->pending.push_back(message);
}

Shard::WriteResult Shard::WritePublish(Session* s, std::string_view topic, std::span<const uint8_t> payload, uint8_t qos,
                                       uint16_t packet_id, const ForwardedProperties& properties) {
  Connection* c = s->connection;
  const Version version = VersionOf(s);
  mqtt::Publish publish;
  publish.topic = topic;
  publish.qos = qos;
  publish.packet_id = packet_id;
  if (s->IsV5()) properties.ApplyTo(&publish.properties);
  size_t header = mqtt::EncodedPublishHeaderSize(publish, version, payload.size());
  if (header == 0) return WriteResult::kUnrepresentable;
  size_t total = header + payload.size();
  if (s->max_packet_size && total > s->max_packet_size) return WriteResult::kTooLarge;
  uint8_t* out = ReserveOutput(c, total);
  mqtt::EncodePublishHeader(publish, version, payload.size(), out);
  if (!payload.empty()) std::memcpy(out + header, payload.data(), payload.size());
  CommitOutput(c, total);
  metrics_.mqtt_publish_out.Add();
  return WriteResult::kOk;
}

// Packet identifiers map onto inflight slots (slot = id % window), so a PUBACK finds its
// slot in O(1) and allocation scans at most one window.
uint16_t Shard::AllocateInflight(Session* s) {
  if (!s->inflight) {
    s->inflight = std::make_unique<Inflight[]>(s->inflight_limit);
    for (uint16_t i = 0; i < s->inflight_limit; ++i) {
      s->inflight[i].session = s;
      s->inflight[i].deadline.callback = &Shard::OnConfirmationTimer;
    }
  }
  while (true) {
    uint16_t id = s->next_packet_id++;
    if (s->next_packet_id == 0) s->next_packet_id = 1;
    if (id == 0) continue;
    Inflight& slot = s->inflight[id % s->inflight_limit];
    if (slot.packet_id != 0) continue;
    slot.packet_id = id;
    slot.direct = false;
    slot.waiting = false;
    ++s->inflight_used;
    return id;
  }
}

void Shard::FreeInflight(Session* s, uint16_t packet_id) {
  Inflight& slot = s->inflight[packet_id % s->inflight_limit];
  if (slot.packet_id != packet_id) return;
  slot.packet_id = 0;
  --s->inflight_used;
}

void Shard::HandlePuback(Session* s, uint16_t packet_id, uint8_t reason) {
  if (!s->inflight) return;
  Inflight& slot = s->inflight[packet_id % s->inflight_limit];
  if (slot.packet_id != packet_id) return;  // unknown or late: nothing waits for it
  if (slot.direct && slot.waiting) {
    timers_.Cancel(&slot.deadline);
    ReplyDirect(slot.origin_shard, slot.token, reason >= 0x80 ? DirectOutcome::kPubackRejected : DirectOutcome::kAcknowledged, reason);
    --pending_confirmations_;
  }
  FreeInflight(s, packet_id);
  // A freed slot lets the next held message go.
  size_t sent = 0;
  while (sent < s->pending.size() && s->inflight_used < s->inflight_limit) {
    RoutedMessage* m = s->pending[sent++];
    uint16_t id = AllocateInflight(s);
    if (WritePublish(s, m->topic(), m->payload(), 1, id, m->properties()) != WriteResult::kOk) FreeInflight(s, id);
    m->Release();
  }
  if (sent) s->pending.erase(s->pending.begin(), s->pending.begin() + sent);
  if (draining_ && pending_confirmations_ == 0) FinishDrain();
}

void Shard::OnConfirmationTimer(Timer* timer) {
  Inflight* slot = InflightOfTimer(timer);
  Shard* self = slot->session->connection->shard;
  // Answer now; the packet identifier stays reserved until the PUBACK (or disconnect), so
  // a late PUBACK can never confirm a different message.
  slot->waiting = false;
  self->ReplyDirect(slot->origin_shard, slot->token, DirectOutcome::kTimeout);
  --self->pending_confirmations_;
  if (self->draining_ && self->pending_confirmations_ == 0) self->FinishDrain();
}

// ---------------------------------------------------------------------------------------
// SUBSCRIBE / UNSUBSCRIBE

void Shard::HandleSubscribe(Connection* c, uint8_t flags, std::span<const uint8_t> body) {
  Session* s = c->session;
  const Version version = VersionOf(s);
  mqtt::Subscribe subscribe;
  mqtt::Status status = mqtt::DecodeSubscribe(version, flags, body, &subscribe);
  if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
  if (!subscribe.properties.subscription_identifiers.empty()) {
    return ProtocolError(c, 0xA1, "subscription identifiers are not supported");
  }
  const Limits& limits = config_->limits;
  mqtt::TopicLimits topic_limits{limits.max_topic_bytes, limits.max_topic_levels};
  reason_scratch_.clear();
  for (const mqtt::Subscription& sub : subscribe.subscriptions) {
    if (mqtt::IsSharedSubscription(sub.filter)) {
      reason_scratch_.push_back(ReasonCode::kSharedSubscriptionsNotSupported);
      continue;
    }
    if (!mqtt::ValidateTopicFilter(sub.filter, topic_limits).ok()) {
      reason_scratch_.push_back(ReasonCode::kTopicFilterInvalid);
      continue;
    }
    if (!SessionAllowed(s, policy::IotAction::kSubscribe, sub.filter)) {
      reason_scratch_.push_back(ReasonCode::kNotAuthorized);  // 3.1.1 writes it as 0x80
      continue;
    }
    uint8_t granted = std::min<uint8_t>(sub.max_qos, 1);  // QoS 2 is granted as QoS 1
    LocalSubscriber subscriber{s, granted, sub.no_local};
    auto existing = std::find_if(s->subscriptions.begin(), s->subscriptions.end(),
                                 [&](const SubscriptionEntry& e) { return e.filter == sub.filter; });
    if (existing != s->subscriptions.end()) {
      // Re-subscribing replaces the options; interest is unchanged.
      routing_.Unsubscribe(sub.filter, s);
      routing_.Subscribe(sub.filter, subscriber);
      existing->qos = granted;
      existing->no_local = sub.no_local;
    } else {
      s->subscriptions.push_back(SubscriptionEntry{std::string(sub.filter), granted, sub.no_local});
      if (routing_.Subscribe(sub.filter, subscriber)) BroadcastInterest(sub.filter, true);
    }
    reason_scratch_.push_back(static_cast<ReasonCode>(granted));
  }
  mqtt::Suback suback;
  suback.packet_id = subscribe.packet_id;
  suback.reason_codes = mqtt::ReasonCodeList(std::span<const ReasonCode>(reason_scratch_));
  WritePacket(c, suback, version);
}

void Shard::HandleUnsubscribe(Connection* c, uint8_t flags, std::span<const uint8_t> body) {
  Session* s = c->session;
  const Version version = VersionOf(s);
  mqtt::Unsubscribe unsubscribe;
  mqtt::Status status = mqtt::DecodeUnsubscribe(version, flags, body, &unsubscribe);
  if (!status.ok()) return ProtocolError(c, uint8_t(status.reason), status.message);
  reason_scratch_.clear();
  for (std::string_view filter : unsubscribe.filters) {
    auto existing = std::find_if(s->subscriptions.begin(), s->subscriptions.end(),
                                 [&](const SubscriptionEntry& e) { return e.filter == filter; });
    if (existing == s->subscriptions.end()) {
      reason_scratch_.push_back(ReasonCode::kNoSubscriptionExisted);
      continue;
    }
    if (routing_.Unsubscribe(filter, s)) BroadcastInterest(filter, false);
    s->subscriptions.erase(existing);
    reason_scratch_.push_back(ReasonCode::kSuccess);
  }
  mqtt::Unsuback unsuback;
  unsuback.packet_id = unsubscribe.packet_id;
  unsuback.reason_codes = mqtt::ReasonCodeList(std::span<const ReasonCode>(reason_scratch_));
  WritePacket(c, unsuback, version);
}

void Shard::BroadcastInterest(std::string_view filter, bool gained) {
  routing_.SetInterest(filter, id_, gained);
  for (uint16_t shard = 0; shard < set_->size(); ++shard) {
    if (shard == id_) continue;
    auto* change = new InterestChange{id_, gained, std::string(filter)};
    MailItem item{};
    item.kind = MailItem::Kind::kInterestChange;
    item.ptr = change;
    Send(shard, item);
  }
}

void Shard::ApplyInterestChange(InterestChange* change) {
  routing_.SetInterest(change->filter, change->shard, change->gained);
  delete change;
}

// ---------------------------------------------------------------------------------------
// Direct messages: the device end (this shard owns the client ID)

void Shard::DeliverDirect(DirectRequest* request) {
  auto answer = [&](DirectOutcome outcome) {
    ReplyDirect(request->origin_shard, request->token, outcome);
    DirectRequest::Free(request);
  };
  auto it = sessions_.find(request->client_id);
  if (it == sessions_.end()) return answer(DirectOutcome::kNotConnected);
  Session* s = it->second;
  Connection* c = s->connection;
  if (draining_) return answer(DirectOutcome::kShuttingDown);
  if (!SessionAllowed(s, policy::IotAction::kReceive, request->topic)) {
    return answer(DirectOutcome::kReceiverNotAuthorized);
  }
  if (!s->outbound_rate.Take(now_ms_)) return answer(DirectOutcome::kDeviceRateLimited);
  if (request->confirm && s->inflight_used >= s->inflight_limit) return answer(DirectOutcome::kInflightWindowFull);
  if (c->QueuedOutputBytes() + request->payload.size() > config_->limits.outbound_buffer_bytes) {
    return answer(DirectOutcome::kOutboundBufferFull);
  }
  std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(request->payload.data()), request->payload.size());
  if (!request->confirm) {
    WriteResult r = WritePublish(s, request->topic, payload, 0, 0, request->properties);
    if (r == WriteResult::kTooLarge) return answer(DirectOutcome::kTooLargeForDevice);
    if (r != WriteResult::kOk) return answer(DirectOutcome::kInternalError);
    return answer(DirectOutcome::kDelivered);
  }
  uint16_t packet_id = AllocateInflight(s);
  WriteResult r = WritePublish(s, request->topic, payload, 1, packet_id, request->properties);
  if (r != WriteResult::kOk) {
    FreeInflight(s, packet_id);
    return answer(r == WriteResult::kTooLarge ? DirectOutcome::kTooLargeForDevice : DirectOutcome::kInternalError);
  }
  Inflight& slot = s->inflight[packet_id % s->inflight_limit];
  slot.direct = true;
  slot.waiting = true;
  slot.origin_shard = request->origin_shard;
  slot.token = request->token;
  timers_.Schedule(&slot.deadline, now_ms_ + request->timeout_ms);
  ++pending_confirmations_;
  DirectRequest::Free(request);  // the payload is in the output queue; nothing refers to it
}

}  // namespace sb::engine
