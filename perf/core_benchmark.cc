// Microbenchmarks of the data path's building blocks: MQTT PUBLISH encode/decode, HTTP
// request-head parsing, topic-trie matching, cross-shard mailbox hand-off and direct-message
// request parsing. Run: build/perf/core_benchmark [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/direct_message.h"
#include "engine/mailbox.h"
#include "net/http/parser.h"
#include "net/mqtt/codec.h"
#include "net/mqtt/topic_trie.h"

namespace {

using namespace sb;

void BM_MqttEncodePublish(benchmark::State& state) {
  std::vector<uint8_t> payload(state.range(0), 'x');
  mqtt::Publish publish;
  publish.topic = "devices/dev-12345/cmd/reboot";
  publish.qos = 1;
  publish.packet_id = 42;
  publish.payload = payload;
  std::vector<uint8_t> out(mqtt::EncodedSize(publish, mqtt::Version::kV5));
  for (auto _ : state) {
    benchmark::DoNotOptimize(mqtt::Encode(publish, mqtt::Version::kV5, out.data()));
  }
  state.SetBytesProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_MqttEncodePublish)->Arg(16)->Arg(256)->Arg(4096);

void BM_MqttDecodePublish(benchmark::State& state) {
  std::vector<uint8_t> payload(state.range(0), 'x');
  mqtt::Publish publish;
  publish.topic = "devices/dev-12345/cmd/reboot";
  publish.qos = 1;
  publish.packet_id = 42;
  publish.payload = payload;
  publish.properties.content_type = "text/plain";
  std::vector<uint8_t> wire(mqtt::EncodedSize(publish, mqtt::Version::kV5));
  mqtt::Encode(publish, mqtt::Version::kV5, wire.data());
  for (auto _ : state) {
    mqtt::Frame frame = mqtt::PeekFrame(wire, 1 << 20);
    mqtt::Publish decoded;
    benchmark::DoNotOptimize(mqtt::DecodePublish(mqtt::Version::kV5, frame.flags, frame.Body(wire), &decoded));
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * wire.size());
}
BENCHMARK(BM_MqttDecodePublish)->Arg(16)->Arg(256)->Arg(4096);

void BM_HttpParseDirectRequest(benchmark::State& state) {
  const std::string request =
      "POST /connections/dev-12345/messages?topic=cmd%2Freboot&confirmation=true&timeout=5 HTTP/1.1\r\n"
      "Host: localhost:8080\r\nUser-Agent: bench\r\nAccept: */*\r\nContent-Type: application/octet-stream\r\n"
      "Authorization: Basic YWRtaW46c2VjcmV0\r\nContent-Length: 16\r\n\r\n0123456789abcdef";
  static http::RequestHead head;  // 8 KiB: keep it off the benchmark's stack frame
  for (auto _ : state) {
    benchmark::DoNotOptimize(http::ParseRequestHead(request, http::Limits{}, &head));
  }
  state.SetBytesProcessed(state.iterations() * request.size());
}
BENCHMARK(BM_HttpParseDirectRequest);

void BM_DirectRequestParse(benchmark::State& state) {
  const std::string request =
      "POST /connections/dev-12345/messages?topic=cmd%2Freboot&confirmation=true&timeout=5 HTTP/1.1\r\n"
      "Host: localhost:8080\r\nContent-Length: 16\r\n\r\n0123456789abcdef";
  static http::RequestHead head;
  auto parsed = http::ParseRequestHead(request, http::Limits{}, &head);
  std::string_view id;
  engine::MatchDirectRoute(head.path, &id);
  engine::Limits limits;
  for (auto _ : state) {
    engine::DirectError error;
    engine::DirectRequest* r = engine::ParseDirectRequest(id, head, std::string_view(request).substr(parsed.consumed_bytes), limits, &error);
    benchmark::DoNotOptimize(r);
    engine::DirectRequest::Free(r);
  }
}
BENCHMARK(BM_DirectRequestParse);

void BM_TopicTrieMatch(benchmark::State& state) {
  // N devices, each subscribed to its own command topic, plus a few wildcard filters.
  mqtt::TopicTrie<int> trie;
  const int n = static_cast<int>(state.range(0));
  for (int i = 0; i < n; ++i) trie.Insert("devices/dev-" + std::to_string(i) + "/cmd/+", i);
  trie.Insert("devices/+/telemetry/#", -1);
  trie.Insert("#", -2);
  std::vector<std::string> topics;
  for (int i = 0; i < 1024; ++i) topics.push_back("devices/dev-" + std::to_string((i * 7919) % n) + "/cmd/reboot");
  size_t k = 0, matched = 0;
  for (auto _ : state) {
    trie.Match(topics[k++ & 1023], [&](int) { ++matched; });
  }
  benchmark::DoNotOptimize(matched);
}
BENCHMARK(BM_TopicTrieMatch)->Arg(1000)->Arg(100000);

// Stage a batch of 16 items, publish it with one bulk enqueue (and the doorbell check),
// drain it with one bulk dequeue: the per-item cost of a shard-to-shard hand-off without
// the cache-line transfer (single thread).
void BM_MailboxBatchHandOff(benchmark::State& state) {
  engine::Inbox inbox(2);
  engine::Outbox out({&inbox}, 1);
  moodycamel::ConsumerToken token(inbox.queue());
  engine::MailItem items[16];
  int rings = 0;
  for (auto _ : state) {
    for (int k = 0; k < 16; ++k) {
      engine::MailItem item{};
      item.a = k;
      out.Stage(0, item);
    }
    out.Flush([&](uint16_t) { ++rings; }, [](uint16_t, const engine::MailItem&) {});
    inbox.MarkDraining();
    benchmark::DoNotOptimize(inbox.queue().try_dequeue_bulk(token, items, 16));
  }
  state.SetItemsProcessed(state.iterations() * 16);
  benchmark::DoNotOptimize(rings);
}
BENCHMARK(BM_MailboxBatchHandOff);

// Two threads: a producer publishing batches of 16 and this thread draining; items/s is the
// sustained cross-core hand-off rate (bounded queue depth, like a shard under load).
void BM_MailboxCrossThread(benchmark::State& state) {
  engine::Inbox inbox(2);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> produced{0};
  std::thread producer([&] {
    engine::Outbox out({&inbox}, 1);
    while (!stop.load(std::memory_order_relaxed)) {
      if (inbox.ApproxDepth() > 4096) {
        std::this_thread::yield();
        continue;
      }
      for (int k = 0; k < 16; ++k) out.Stage(0, engine::MailItem{});
      out.Flush([](uint16_t) {}, [](uint16_t, const engine::MailItem&) {});
      produced.fetch_add(16, std::memory_order_relaxed);
    }
  });
  moodycamel::ConsumerToken token(inbox.queue());
  engine::MailItem items[256];
  uint64_t received = 0;
  for (auto _ : state) {
    size_t n = inbox.queue().try_dequeue_bulk(token, items, 256);
    if (n == 0) std::this_thread::yield();
    received += n;
  }
  stop = true;
  producer.join();
  state.counters["items/s"] = benchmark::Counter(static_cast<double>(received), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MailboxCrossThread)->UseRealTime()->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
