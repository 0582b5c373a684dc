#include "engine/config.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

namespace sb::engine {

bool Endpoint::IsLoopback() const {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool Config::AnonymousAllowed() const {
  if (anonymous) return *anonymous;
  return mqtt.IsLoopback() && http.IsLoopback();
}

namespace {

using Setter = std::function<bool(Config&, const std::string&, std::string*)>;

struct Option {
  const char* name;
  const char* help;
  Setter set;
};

bool ParseEndpoint(const std::string& text, Endpoint* out, std::string* error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    *error = "expected HOST:PORT, got '" + text + "'";
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* p = text.data() + colon + 1;
  auto [end, ec] = std::from_chars(p, text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) {
    *error = "invalid port in '" + text + "'";
    return false;
  }
  out->host = host.empty() ? "0.0.0.0" : host;
  out->port = static_cast<uint16_t>(port);
  return true;
}

template <class T>
Setter Number(T Config::*field) {
  return [field](Config& c, const std::string& v, std::string* error) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) {
      *error = "expected a non-negative integer, got '" + v + "'";
      return false;
    }
    c.*field = static_cast<T>(n);
    return true;
  };
}

Setter Limit(uint32_t Limits::*field) {
  return [field](Config& c, const std::string& v, std::string* error) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n > UINT32_MAX) {
      *error = "expected a non-negative 32-bit integer, got '" + v + "'";
      return false;
    }
    c.limits.*field = static_cast<uint32_t>(n);
    return true;
  };
}

bool ParseBool(const std::string& v, bool* out) {
  if (v == "on" || v == "true" || v == "1" || v == "yes") { *out = true; return true; }
  if (v == "off" || v == "false" || v == "0" || v == "no") { *out = false; return true; }
  return false;
}

const std::vector<Option>& Options() {
  static const std::vector<Option> options = {
      {"mqtt", "HOST:PORT of the MQTT listener (default 127.0.0.1:1883; port 0 picks one)",
       [](Config& c, const std::string& v, std::string* e) { return ParseEndpoint(v, &c.mqtt, e); }},
      {"http", "HOST:PORT of the HTTP/WebSocket/SSE listener (default 127.0.0.1:8080)",
       [](Config& c, const std::string& v, std::string* e) { return ParseEndpoint(v, &c.http, e); }},
      {"shards", "number of shards (reactor threads); default: one per CPU", Number(&Config::shards)},
      {"data", "data directory (default ./switchboard-data)",
       [](Config& c, const std::string& v, std::string*) { c.data_dir = v; return true; }},
      {"admin-password", "create or reset the principal 'admin' with this password",
       [](Config& c, const std::string& v, std::string*) { c.admin_password = v; return true; }},
      {"anonymous", "on|off: allow anonymous clients (default: on only on loopback listeners)",
       [](Config& c, const std::string& v, std::string* e) {
         bool b;
         if (!ParseBool(v, &b)) { *e = "expected on|off"; return false; }
         c.anonymous = b;
         return true;
       }},
      {"proxy-protocol", "none|mqtt|http|both: expect a PROXY v1/v2 header on those listeners",
       [](Config& c, const std::string& v, std::string* e) {
         if (v != "none" && v != "mqtt" && v != "http" && v != "both") { *e = "expected none|mqtt|http|both"; return false; }
         c.proxy_protocol_mqtt = (v == "mqtt" || v == "both");
         c.proxy_protocol_http = (v == "http" || v == "both");
         return true;
       }},
      {"drain-grace-ms", "on SIGTERM, how long pending confirmations may finish (default 5000)",
       Number(&Config::drain_grace_ms)},
      {"pin-threads", "on|off: pin each shard to a CPU (default on)",
       [](Config& c, const std::string& v, std::string* e) {
         if (!ParseBool(v, &c.pin_threads)) { *e = "expected on|off"; return false; }
         return true;
       }},
      {"log-level", "debug|info|warn|error (default info)",
       [](Config& c, const std::string& v, std::string* e) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") { *e = "expected debug|info|warn|error"; return false; }
         c.log_level = v;
         return true;
       }},
      {"max-client-id-bytes", "longest MQTT client ID (default 128)", Limit(&Limits::max_client_id_bytes)},
      {"max-topic-bytes", "longest direct-message topic (default 256)", Limit(&Limits::max_topic_bytes)},
      {"max-topic-levels", "deepest direct-message topic (default 8)", Limit(&Limits::max_topic_levels)},
      {"max-direct-payload", "largest direct-message payload in bytes (default 131072)", Limit(&Limits::max_direct_payload)},
      {"max-live-payload", "largest live-message payload in bytes (default 250000)", Limit(&Limits::max_live_payload)},
      {"http-max-head-bytes", "largest HTTP request head (default 16384)", Limit(&Limits::http_max_head_bytes)},
      {"http-max-headers", "most HTTP request headers (default 100)", Limit(&Limits::http_max_headers)},
      {"http-max-body", "largest body on other HTTP routes (default 1 MiB)", Limit(&Limits::http_max_body)},
      {"mqtt-max-packet", "largest MQTT packet accepted (default 262656)", Limit(&Limits::mqtt_max_packet)},
      {"inflight-per-client", "outbound QoS 1 window per device (default 100)", Limit(&Limits::inflight_per_client)},
      {"outbound-buffer-bytes", "outbound queue per connection (default 1 MiB)", Limit(&Limits::outbound_buffer_bytes)},
      {"sender-rate", "direct messages/s per sender connection, 0 = unlimited (default 5000)", Limit(&Limits::sender_rate)},
      {"sender-burst", "burst for --sender-rate (default 5000)", Limit(&Limits::sender_burst)},
      {"device-rate", "outbound publishes/s per device, 0 = unlimited (default 1000)", Limit(&Limits::device_rate)},
      {"device-burst", "burst for --device-rate (default 1000)", Limit(&Limits::device_burst)},
      {"topic-alias-max", "MQTT 5 topic aliases accepted per connection (default 16)", Limit(&Limits::topic_alias_max)},
      {"receive-maximum", "MQTT 5 Receive Maximum advertised (default 1000)", Limit(&Limits::receive_maximum)},
      {"max-keepalive", "cap on client keep-alive seconds, 0 = none (default 0)", Limit(&Limits::max_keepalive_s)},
      {"connect-timeout-ms", "time a new MQTT connection has to send CONNECT (default 10000)", Limit(&Limits::connect_timeout_ms)},
      {"max-connections", "most concurrent connections (default 1000000)", Limit(&Limits::max_connections)},
  };
  return options;
}

const Option* FindOption(std::string name) {
  for (char& ch : name) if (ch == '_') ch = '-';
  for (const Option& o : Options()) if (name == o.name) return &o;
  return nullptr;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool LoadConfigFile(const std::string& path, Config* config, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read config file '" + path + "'";
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == '[') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      *error = path + ":" + std::to_string(number) + ": expected key = value";
      return false;
    }
    std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    } else {
      size_t hash = value.find('#');
      if (hash != std::string::npos) value = Trim(value.substr(0, hash));
    }
    const Option* option = FindOption(key);
    if (!option) {
      *error = path + ":" + std::to_string(number) + ": unknown key '" + key + "'";
      return false;
    }
    std::string why;
    if (!option->set(*config, value, &why)) {
      *error = path + ":" + std::to_string(number) + ": " + key + ": " + why;
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseCommandLine(int argc, char** argv, Config* config, std::string* error, bool* show_help) {
  *show_help = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc) {
        *error = "--config needs a FILE";
        return false;
      }
      if (!LoadConfigFile(argv[i + 1], config, error)) return false;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *show_help = true;
      return true;
    }
    if (arg.rfind("--", 0) != 0) {
      *error = "unexpected argument '" + arg + "'";
      return false;
    }
    std::string name = arg.substr(2), value;
    size_t eq = name.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "config") {
      if (!inline_value) ++i;
      continue;
    }
    const Option* option = FindOption(name);
    if (!option) {
      *error = "unknown flag '--" + name + "' (see --help)";
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        *error = "--" + name + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    std::string why;
    if (!option->set(*config, value, &why)) {
      *error = "--" + name + ": " + why;
      return false;
    }
  }
  return true;
}

std::string CommandLineHelp() {
  std::ostringstream out;
  out << "usage: switchboard [--config FILE] [flags]\n\nflags (also valid as `key = value` in the config file):\n";
  for (const Option& o : Options()) {
    out << "  --" << o.name;
    for (size_t n = std::strlen(o.name); n < 22; ++n) out << ' ';
    out << o.help << "\n";
  }
  return out.str();
}

}  // namespace sb::engine
