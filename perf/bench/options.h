// Command line of switchboard-bench: one scenario (direct | pubsub | connections) and its
// settings, parsed and validated before any socket is opened. Start-up edge only: errors are
// text, and the process exits with status 2.
#pragma once

#include <cstdint>
#include <string>

#include "net/mqtt/codec.h"

namespace sb::bench {

enum class Scenario : uint8_t { kDirect, kPubsub, kConnections };
enum class PubsubMode : uint8_t { kP2p, kFanout, kFanin };

struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

struct Options {
  Scenario scenario = Scenario::kPubsub;

  // Where to connect.
  Target mqtt{"127.0.0.1", 1883};
  Target http{"127.0.0.1", 8080};
  mqtt::Version mqtt_version = mqtt::Version::kV5;
  std::string mqtt_username;  // empty: none
  std::string mqtt_password;
  std::string http_basic_auth;  // "user:password"; empty: no Authorization header
  std::string client_prefix = "bench";
  std::string topic_prefix = "bench";
  uint16_t keepalive_s = 60;

  unsigned threads = 1;

  // direct
  uint32_t devices = 1000;
  uint32_t senders = 16;
  bool confirm = false;
  uint32_t direct_timeout_s = 0;  // 0: the server's default

  // pubsub
  PubsubMode mode = PubsubMode::kP2p;
  uint32_t pairs = 100;
  uint32_t subscribers = 100;
  uint32_t publishers = 100;
  uint8_t qos = 0;

  // connections
  uint32_t connections = 1000;
  double connect_rate = 1000;  // new connections per second, all threads together
  double hold_s = 10;
  int server_pid = 0;
  uint32_t source_addresses = 0;  // 0: 4 on a loopback target, else none (no bind)

  // Load shape. rate == 0: closed loop with `inflight` outstanding per sender/publisher.
  uint32_t inflight = 1;
  double rate = 0;             // messages per second in total (open loop)
  double duration_s = 10;
  uint64_t count = 0;          // messages after the warmup; 0: run for duration_s
  double warmup_s = 1;
  uint32_t payload = 64;
  uint32_t max_outstanding = 1000;  // open loop: cap on un-answered messages per sender
  double drain_timeout_s = 5;
  double loss_timeout_s = 1;       // closed loop: a window this long without delivery is forgiven
  double response_timeout_s = 30;  // HTTP response / PUBACK
  double connect_timeout_s = 10;
  uint32_t connect_concurrency = 256;  // handshakes in progress per thread during set-up

  bool json = false;
  int progress = -1;  // -1: when stderr is a terminal

  bool open_loop() const { return rate > 0; }
};

enum class ParseOutcome : uint8_t { kRun, kHelp, kError };

// Fills `options` from argv. On kHelp, *text is the help to print; on kError, the message.
ParseOutcome ParseOptions(int argc, const char* const* argv, Options* options, std::string* text);

std::string UsageText();
std::string ScenarioHelp(Scenario scenario);

const char* ScenarioName(Scenario scenario);
const char* PubsubModeName(PubsubMode mode);

}  // namespace sb::bench
