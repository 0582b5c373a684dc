// Config: every tunable of the server, with the defaults of SPEC 6-8, filled from the
// command line and an optional TOML file (flat `key = value` lines; `[section]` headers are
// accepted and ignored; keys are the long flag names with `-` or `_`). Start-up edge only:
// errors are reported as text and the process exits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sb::engine {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool IsLoopback() const;
};

struct Limits {
  uint32_t max_client_id_bytes = 128;
  uint32_t max_topic_bytes = 256;
  uint32_t max_topic_levels = 8;
  uint32_t max_direct_payload = 128 * 1024;
  uint32_t max_live_payload = 250 * 1000;
  uint32_t http_max_head_bytes = 16 * 1024;
  uint32_t http_max_headers = 100;
  uint32_t http_max_body = 1024 * 1024;       // any other route
  uint32_t ws_max_frame = 1024 * 1024;
  uint32_t mqtt_max_packet = 256 * 1024 + 512;  // a full direct payload plus headers
  uint32_t inflight_per_client = 100;         // outbound QoS 1 window per device
  uint32_t outbound_buffer_bytes = 1024 * 1024;  // per connection; beyond: drop QoS 0, then disconnect
  uint32_t sender_rate = 5000;                // direct messages per second per sender connection
  uint32_t sender_burst = 5000;
  uint32_t device_rate = 1000;                // outbound publishes per second per device
  uint32_t device_burst = 1000;
  uint32_t topic_alias_max = 16;              // MQTT 5 Topic Alias Maximum we accept
  uint32_t receive_maximum = 1000;            // MQTT 5 Receive Maximum we advertise
  uint32_t max_keepalive_s = 0;               // 0: accept the client's value
  uint32_t connect_timeout_ms = 10000;        // a new connection must send CONNECT by then
  uint32_t max_connections = 1000000;         // per server; beyond: refuse
};

struct Config {
  Endpoint mqtt{"127.0.0.1", 1883};
  Endpoint http{"127.0.0.1", 8080};
  unsigned shards = 0;                        // 0: one per online CPU
  std::string data_dir = "switchboard-data";
  std::string admin_password;
  std::optional<bool> anonymous;              // unset: on only when every listener is loopback
  bool proxy_protocol_mqtt = false;
  bool proxy_protocol_http = false;
  uint32_t drain_grace_ms = 5000;
  bool pin_threads = true;
  std::string log_level = "info";
  Limits limits;

  bool AnonymousAllowed() const;
};

// Fills `config` from argv (argv[0] skipped). `--config FILE` is read first wherever it
// appears, so flags override the file. Returns false with a message on error; sets
// *show_help for --help.
bool ParseCommandLine(int argc, char** argv, Config* config, std::string* error, bool* show_help);
std::string CommandLineHelp();

}  // namespace sb::engine
