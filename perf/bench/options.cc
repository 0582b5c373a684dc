#include "perf/bench/options.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <vector>

namespace sb::bench {
namespace {

using Setter = std::function<bool(Options&, const std::string&, std::string*)>;

// Which scenarios a flag applies to (a bit per Scenario).
constexpr unsigned kDirect = 1, kPubsub = 2, kConnections = 4, kLoad = kDirect | kPubsub,
                   kAll = kDirect | kPubsub | kConnections;

struct Flag {
  const char* name;
  const char* value;  // nullptr for a switch
  unsigned scenarios;
  const char* help;
  Setter set;
};

bool ParseUnsigned(const std::string& text, uint64_t min, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& text, double min, double max, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v) || v < min || v > max) return false;
  *out = v;
  return true;
}

template <class T>
Setter Unsigned(T Options::*field, uint64_t min, uint64_t max) {
  return [=](Options& o, const std::string& v, std::string* e) {
    uint64_t n = 0;
    if (!ParseUnsigned(v, min, max, &n)) {
      *e = "expected an integer in " + std::to_string(min) + ".." + std::to_string(max);
      return false;
    }
    o.*field = static_cast<T>(n);
    return true;
  };
}

Setter Seconds(double Options::*field, double min, double max) {
  return [=](Options& o, const std::string& v, std::string* e) {
    if (!ParseDouble(v, min, max, &(o.*field))) {
      *e = "expected a number of seconds in " + std::to_string(min) + ".." + std::to_string(max);
      return false;
    }
    return true;
  };
}

Setter Text(std::string Options::*field) {
  return [=](Options& o, const std::string& v, std::string*) {
    o.*field = v;
    return true;
  };
}

bool ParseTarget(const std::string& v, Target* target, std::string* e) {
  const size_t colon = v.rfind(':');
  uint64_t port = 0;
  if (colon == std::string::npos || colon == 0 || !ParseUnsigned(v.substr(colon + 1), 1, 65535, &port)) {
    *e = "expected HOST:PORT with a port in 1..65535";
    return false;
  }
  target->host = v.substr(0, colon);
  if (target->host.size() > 2 && target->host.front() == '[' && target->host.back() == ']') {
    target->host = target->host.substr(1, target->host.size() - 2);
  }
  target->port = static_cast<uint16_t>(port);
  return true;
}

bool ParseSwitchValue(const std::string& v, bool* out, std::string* e) {
  if (v.empty() || v == "true" || v == "on" || v == "1") {
    *out = true;
  } else if (v == "false" || v == "off" || v == "0") {
    *out = false;
  } else {
    *e = "expected true|false";
    return false;
  }
  return true;
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      {"mqtt", "HOST:PORT", kAll, "MQTT endpoint of the server (default 127.0.0.1:1883)",
       [](Options& o, const std::string& v, std::string* e) { return ParseTarget(v, &o.mqtt, e); }},
      {"http", "HOST:PORT", kDirect, "HTTP endpoint of the server (default 127.0.0.1:8080)",
       [](Options& o, const std::string& v, std::string* e) { return ParseTarget(v, &o.http, e); }},
      {"mqtt-version", "3|5", kAll, "MQTT protocol: 3 = 3.1.1, 5 = 5.0 (default 5)",
       [](Options& o, const std::string& v, std::string* e) {
         if (v == "3" || v == "3.1.1" || v == "4") {
           o.mqtt_version = mqtt::Version::kV311;
         } else if (v == "5" || v == "5.0") {
           o.mqtt_version = mqtt::Version::kV5;
         } else {
           *e = "expected 3 or 5";
           return false;
         }
         return true;
       }},
      {"username", "NAME", kAll, "MQTT user name (default none)", Text(&Options::mqtt_username)},
      {"password", "PW", kAll, "MQTT password (default none)", Text(&Options::mqtt_password)},
      {"http-auth", "USER:PW", kDirect, "HTTP Basic credentials of the senders (default none)",
       Text(&Options::http_basic_auth)},
      {"client-prefix", "TEXT", kAll, "client ID prefix: TEXT-dev-<i>, TEXT-pub-<i>, TEXT-sub-<i>, TEXT-conn-<i> (default bench)",
       Text(&Options::client_prefix)},
      {"topic-prefix", "TEXT", kLoad, "first topic level (default bench)", Text(&Options::topic_prefix)},
      {"keepalive", "S", kAll, "MQTT keep-alive seconds; PINGREQ after S/2 idle (default 60)",
       Unsigned(&Options::keepalive_s, 0, 65535)},
      {"threads", "N", kAll, "worker threads, one io_uring each (default 1)", Unsigned(&Options::threads, 1, 256)},
      {"devices", "N", kDirect, "MQTT devices bench-dev-0..N-1 (default 1000)", Unsigned(&Options::devices, 1, 1000000)},
      {"senders", "M", kDirect, "HTTP/1.1 keep-alive sender connections (default 16)",
       Unsigned(&Options::senders, 1, 100000)},
      {"confirm", nullptr, kDirect, "confirmation=true: QoS 1, answered after the device's PUBACK (default false)",
       [](Options& o, const std::string& v, std::string* e) { return ParseSwitchValue(v, &o.confirm, e); }},
      {"direct-timeout", "S", kDirect, "timeout=S query parameter with --confirm, 1..15 (default: server's, 5)",
       Unsigned(&Options::direct_timeout_s, 1, 15)},
      {"mode", "p2p|fanout|fanin", kPubsub, "pub/sub shape (default p2p)",
       [](Options& o, const std::string& v, std::string* e) {
         if (v == "p2p") {
           o.mode = PubsubMode::kP2p;
         } else if (v == "fanout") {
           o.mode = PubsubMode::kFanout;
         } else if (v == "fanin") {
           o.mode = PubsubMode::kFanin;
         } else {
           *e = "expected p2p, fanout or fanin";
           return false;
         }
         return true;
       }},
      {"pairs", "N", kPubsub, "p2p: publisher/subscriber pairs (default 100)", Unsigned(&Options::pairs, 1, 1000000)},
      {"subscribers", "N", kPubsub, "fanout: subscribers of the one publisher (default 100)",
       Unsigned(&Options::subscribers, 1, 1000000)},
      {"publishers", "N", kPubsub, "fanin: publishers to the one subscriber (default 100)",
       Unsigned(&Options::publishers, 1, 1000000)},
      {"qos", "0|1", kPubsub, "QoS of PUBLISH and SUBSCRIBE (default 0)", Unsigned(&Options::qos, 0, 1)},
      {"connections", "N", kConnections, "idle MQTT connections to open (default 1000)",
       Unsigned(&Options::connections, 1, 10000000)},
      {"rate", "R", kAll,
       "open loop: R messages/s in total, on a fixed schedule (connections: R new connections/s, default 1000)",
       [](Options& o, const std::string& v, std::string* e) {
         double r = 0;
         if (!ParseDouble(v, 0.001, 1e9, &r)) {
           *e = "expected a positive rate";
           return false;
         }
         if (o.scenario == Scenario::kConnections) {
           o.connect_rate = r;
         } else {
           o.rate = r;
         }
         return true;
       }},
      {"hold", "S", kConnections, "keep the connections open S seconds after the ramp (default 10)",
       Seconds(&Options::hold_s, 0, 86400)},
      {"server-pid", "PID", kConnections, "report this process's VmRSS before and after", Unsigned(&Options::server_pid, 1, 1u << 30)},
      {"source-addresses", "K", kConnections,
       "bind to 127.0.0.1..127.0.0.K round-robin before connecting (default 4 on loopback, else none)",
       Unsigned(&Options::source_addresses, 1, 250)},
      {"inflight", "K", kLoad, "closed loop: outstanding messages per sender/publisher (default 1)",
       Unsigned(&Options::inflight, 1, 65535)},
      {"duration", "S", kLoad, "measured seconds after the warmup (default 10)", Seconds(&Options::duration_s, 0.1, 86400)},
      {"count", "N", kLoad, "send N measured messages in total instead of --duration", Unsigned(&Options::count, 1, ~0ull)},
      {"warmup", "S", kLoad, "seconds of load excluded from the results (default 1)", Seconds(&Options::warmup_s, 0, 3600)},
      {"payload", "BYTES", kLoad, "message size, at least 24 (the stamp) (default 64)", Unsigned(&Options::payload, 24, 128 * 1024 * 1024)},
      {"max-outstanding", "K", kLoad, "open loop: most unanswered messages per sender/publisher (default 1000)",
       Unsigned(&Options::max_outstanding, 1, 65535)},
      {"drain-timeout", "S", kLoad, "after the last send, wait up to S seconds for deliveries (default 5)",
       Seconds(&Options::drain_timeout_s, 0, 600)},
      {"loss-timeout", "S", kPubsub, "closed loop: after S seconds without delivery, stop waiting for a window (default 1)",
       Seconds(&Options::loss_timeout_s, 0.001, 600)},
      {"response-timeout", "S", kLoad, "HTTP response / PUBACK deadline before it counts as failed (default 30)",
       Seconds(&Options::response_timeout_s, 0.001, 3600)},
      {"connect-timeout", "S", kAll, "TCP connect + CONNACK deadline (default 10)", Seconds(&Options::connect_timeout_s, 0.001, 3600)},
      {"connect-concurrency", "N", kLoad, "connection handshakes in progress per thread during set-up (default 256)",
       Unsigned(&Options::connect_concurrency, 1, 1000000)},
      {"json", nullptr, kAll, "print one JSON object with every figure on stdout",
       [](Options& o, const std::string& v, std::string* e) { return ParseSwitchValue(v, &o.json, e); }},
      {"progress", nullptr, kAll, "print a progress line every second on stderr (default: when it is a terminal)",
       [](Options& o, const std::string& v, std::string* e) {
         bool on = true;
         if (!ParseSwitchValue(v, &on, e)) return false;
         o.progress = on ? 1 : 0;
         return true;
       }},
      {"no-progress", nullptr, kAll, "no progress line",
       [](Options& o, const std::string&, std::string*) {
         o.progress = 0;
         return true;
       }},
  };
  return flags;
}

unsigned ScenarioBit(Scenario s) {
  switch (s) {
    case Scenario::kDirect: return kDirect;
    case Scenario::kPubsub: return kPubsub;
    case Scenario::kConnections: return kConnections;
  }
  return 0;
}

std::string FlagLines(unsigned scenarios) {
  std::string out;
  for (const Flag& f : Flags()) {
    if ((f.scenarios & scenarios) == 0) continue;
    std::string left = std::string("  --") + f.name + (f.value ? std::string(" ") + f.value : "");
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    out += left + f.help + "\n";
  }
  return out;
}

constexpr const char* kCoresNote =
    "Threads: --threads N runs N worker threads, each with its own io_uring, busy on one core\n"
    "when the load needs it, plus the main thread, which only wakes once a second (progress,\n"
    "phase changes). So it uses up to N cores. When the server runs on the same machine, the\n"
    "tool competes with it for CPU: leave the server enough cores, and say so with the figures.\n";

}  // namespace

const char* ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kDirect: return "direct";
    case Scenario::kPubsub: return "pubsub";
    case Scenario::kConnections: return "connections";
  }
  return "?";
}

const char* PubsubModeName(PubsubMode mode) {
  switch (mode) {
    case PubsubMode::kP2p: return "p2p";
    case PubsubMode::kFanout: return "fanout";
    case PubsubMode::kFanin: return "fanin";
  }
  return "?";
}

std::string UsageText() {
  return std::string(
             "usage: switchboard-bench direct|pubsub|connections [flags]\n"
             "       switchboard-bench SCENARIO --help\n\n"
             "Load generator for Switchboard (and any MQTT broker for pubsub/connections).\n"
             "  direct       MQTT devices + HTTP senders of direct messages (Switchboard only)\n"
             "  pubsub       MQTT publishers and subscribers: p2p, fanout or fanin\n"
             "  connections  ramp idle MQTT connections, hold them, report connect rate and RSS\n\n"
             "Load shape: closed loop (--inflight K per sender) unless --rate R (open loop, latency\n"
             "measured from each message's scheduled send time, so queueing counts).\n"
             "Exit status: 0 clean run; 1 target unreachable or set-up failed; 2 bad usage;\n"
             "3 the run completed but messages or connections failed (see the report); 130 interrupted\n"
             "by SIGINT/SIGTERM (the load stops, the run drains and reports; a second signal skips the drain).\n\n") +
         kCoresNote;
}

std::string ScenarioHelp(Scenario scenario) {
  std::string out = std::string("usage: switchboard-bench ") + ScenarioName(scenario) + " [flags]\n\n";
  switch (scenario) {
    case Scenario::kDirect:
      out +=
          "N devices (client IDs PREFIX-dev-<i>) connect over MQTT; M HTTP/1.1 keep-alive senders POST\n"
          "/connections/PREFIX-dev-<i>/messages?topic=TOPIC/<i>&confirmation=true|false, devices taken\n"
          "round-robin (sender s serves devices s, s+M, ...). --inflight K > 1 pipelines K requests on\n"
          "each connection. Latency: request send -> HTTP response, and send -> device receipt.\n"
          "Devices PUBACK QoS 1. Loss = 200 answers the device never received.\n\n";
      break;
    case Scenario::kPubsub:
      out +=
          "Works against any MQTT 3.1.1/5.0 broker. p2p: publisher i -> TOPIC/p2p/<i> -> subscriber i;\n"
          "fanout: one publisher -> TOPIC/fanout -> N subscribers; fanin: N publishers -> TOPIC/fanin ->\n"
          "one subscriber. Closed loop: a message is outstanding until every subscriber it is meant for\n"
          "received it (at QoS 1 also until PUBACK, within the broker's Receive Maximum).\n\n";
      break;
    case Scenario::kConnections:
      out +=
          "Opens N idle MQTT connections at --rate R per second (spread over the threads and over\n"
          "loopback source addresses), holds them for --hold S seconds, and reports the connect rate,\n"
          "connect latency, failures, drops during the hold, and with --server-pid the server's VmRSS\n"
          "before and after (and per connection). Needs N file descriptors below the process limit.\n\n";
      break;
  }
  out += "Flags:\n" + FlagLines(ScenarioBit(scenario)) + "\n" + kCoresNote;
  return out;
}

ParseOutcome ParseOptions(int argc, const char* const* argv, Options* options, std::string* text) {
  *options = Options{};
  if (argc < 2) {
    *text = UsageText();
    return ParseOutcome::kError;
  }
  const std::string scenario = argv[1];
  if (scenario == "--help" || scenario == "-h" || scenario == "help") {
    *text = UsageText();
    return ParseOutcome::kHelp;
  }
  if (scenario == "direct") {
    options->scenario = Scenario::kDirect;
  } else if (scenario == "pubsub") {
    options->scenario = Scenario::kPubsub;
  } else if (scenario == "connections") {
    options->scenario = Scenario::kConnections;
  } else {
    *text = "unknown scenario '" + scenario + "'\n\n" + UsageText();
    return ParseOutcome::kError;
  }
  const unsigned bit = ScenarioBit(options->scenario);
  bool duration_set = false;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *text = ScenarioHelp(options->scenario);
      return ParseOutcome::kHelp;
    }
    if (arg.rfind("--", 0) != 0) {
      *text = "unexpected argument '" + arg + "'";
      return ParseOutcome::kError;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : Flags()) {
      if (name == f.name) flag = &f;
    }
    if (!flag) {
      *text = "unknown flag --" + name + " (see switchboard-bench " + scenario + " --help)";
      return ParseOutcome::kError;
    }
    if ((flag->scenarios & bit) == 0) {
      *text = "--" + name + " does not apply to the " + scenario + " scenario";
      return ParseOutcome::kError;
    }
    if (flag->value && !has_value) {
      if (i + 1 >= argc) {
        *text = "--" + name + " needs a value (" + flag->value + ")";
        return ParseOutcome::kError;
      }
      value = argv[++i];
    }
    std::string error;
    if (!flag->set(*options, value, &error)) {
      *text = "--" + name + " " + value + ": " + error;
      return ParseOutcome::kError;
    }
    if (name == "duration") duration_set = true;
  }
  if (options->count > 0 && duration_set) {
    *text = "--count and --duration exclude each other";
    return ParseOutcome::kError;
  }
  if (options->scenario == Scenario::kDirect && options->senders > options->devices) {
    *text = "--senders must not exceed --devices (each device has exactly one sender)";
    return ParseOutcome::kError;
  }
  if (options->scenario == Scenario::kDirect && options->payload > 128 * 1024) {
    *text = "--payload: direct messages are limited to 131072 bytes by the server's default";
    return ParseOutcome::kError;
  }
  if (options->scenario != Scenario::kConnections && options->payload > 256 * 1024 * 1024 - 1024) {
    *text = "--payload too large for one MQTT packet";
    return ParseOutcome::kError;
  }
  // Both go into URLs (direct) and client IDs unescaped: keep to URL-safe characters.
  auto url_safe = [](const std::string& text, bool slash) {
    if (text.empty() || text.size() > 64) return false;
    for (char ch : text) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                      ch == '_' || ch == '.' || ch == '~' || (slash && ch == '/');
      if (!ok) return false;
    }
    return true;
  };
  if (!url_safe(options->client_prefix, false)) {
    *text = "--client-prefix must be 1..64 characters of A-Z a-z 0-9 - _ . ~";
    return ParseOutcome::kError;
  }
  if (!url_safe(options->topic_prefix, true) || options->topic_prefix.front() == '/' ||
      options->topic_prefix.back() == '/') {
    *text = "--topic-prefix must be 1..64 characters of A-Z a-z 0-9 - _ . ~ /, not starting or ending with /";
    return ParseOutcome::kError;
  }
  if (options->mqtt_password.size() && options->mqtt_username.empty() && options->mqtt_version == mqtt::Version::kV311) {
    *text = "MQTT 3.1.1 needs --username with --password";
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

}  // namespace sb::bench
