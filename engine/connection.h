// Connection: one client socket, owned by exactly one shard (the one whose reactor
// receives for it). MQTT connections move once, right after CONNECT, to the shard that owns
// their client ID; HTTP connections stay where the kernel accepted them.
//
// Kept small on purpose (the idle-connection budget is under 1 KiB in all): buffers are
// pooled and attached only while there is something to hold.
#pragma once

#include <cstdint>

#include "engine/buffer_pool.h"
#include "engine/timer_wheel.h"
#include "engine/token_bucket.h"

namespace sb::engine {

class Shard;
struct Session;

enum class Protocol : uint8_t { kMqtt, kHttp };

enum class ConnState : uint8_t {
  kProxyHeader,    // waiting for the PROXY protocol header
  kAwaitConnect,   // MQTT: nothing but CONNECT is acceptable yet
  kActive,
  kClosing,        // shut down; waiting for outstanding operations before close()
  kFree,           // slot unused (the object is kept and reused; stale completions see this)
};

// Where a connection came from (the PROXY header's source when one was received).
struct PeerAddress {
  uint8_t family = 0;        // AF_INET / AF_INET6 / 0 unknown
  uint16_t port = 0;
  uint8_t address[16] = {};
};

struct Connection {
  Shard* shard = nullptr;
  uint32_t index = 0;
  uint32_t generation = 0;
  int fd = -1;
  Protocol protocol = Protocol::kMqtt;
  ConnState state = ConnState::kActive;

  bool recv_armed = false;
  bool recv_multishot = false;
  bool reading_paused = false;     // input is parked (HTTP waiting for an answer)
  bool send_in_flight = false;
  bool in_dirty_list = false;
  bool close_after_flush = false;
  bool overflowed = false;         // queued for closing: the peer does not read

  ByteBuffer* input = nullptr;     // unconsumed bytes (a partial packet or parked requests)
  ByteBuffer* out = nullptr;       // queued, not yet handed to the kernel
  ByteBuffer* sending = nullptr;   // handed to the kernel, awaiting completion

  Timer idle_timer;                // MQTT: CONNECT deadline, then keep-alive
  uint64_t last_activity_ms = 0;

  // MQTT: the session once CONNECT was accepted (owned by the shard's registry).
  Session* session = nullptr;
  uint8_t mqtt_version = 0;        // 4 or 5 once CONNECT was read (kept after the session ends)

  // HTTP: the one request being answered (requests are answered in order; a pipelined
  // request waits in `input` until the previous one has its response).
  // While `awaiting`, input is parked: a direct message, an admin request or a credential
  // check is in flight and its answer resumes the connection.
  enum class Awaiting : uint8_t { kNothing, kDirectResult, kAdminResponse, kCredentials };
  uint64_t awaiting_since_us = 0;
  bool awaiting = false;
  Awaiting awaiting_what = Awaiting::kNothing;
  bool keep_alive = true;
  bool continue_sent = false;      // "100 Continue" already sent for the current request
  TokenBucket sender_rate;

  PeerAddress peer;

  uint32_t QueuedOutputBytes() const {
    return (out ? out->readable() : 0) + (sending ? sending->readable() : 0);
  }
};

}  // namespace sb::engine

namespace sb::engine {

// An MQTT connection moving to the shard that owns its client ID: the socket and every
// byte received so far (starting with the CONNECT packet). One allocation, freed by the
// adopting shard.
struct ConnectionHandoff {
  int fd = -1;
  PeerAddress peer;
  uint32_t size = 0;
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(this + 1); }
};

}  // namespace sb::engine
