#include "engine/mailbox.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sb::engine {
namespace {

TEST(MailboxTest, BatchesArePublishedOnFlushOnly) {
  Inbox a(2), b(2);
  Outbox out({&a, &b}, 0);
  MailItem item{};
  item.kind = MailItem::Kind::kDirectResult;
  item.a = 7;
  out.Stage(1, item);
  EXPECT_EQ(b.ApproxDepth(), 0u);
  std::vector<uint16_t> woken;
  out.Flush([&](uint16_t d) { woken.push_back(d); }, [](uint16_t, const MailItem&) { FAIL(); });
  EXPECT_EQ(b.ApproxDepth(), 1u);
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0], 1);
  MailItem got{};
  ASSERT_TRUE(b.queue().try_dequeue(got));
  EXPECT_EQ(got.a, 7u);
  EXPECT_EQ(got.from_shard, 0);
}

TEST(MailboxTest, DoorbellRingsOnlyWhenTheInboxWasDrained) {
  Inbox inbox(1);
  Outbox out({&inbox}, 0);
  int rings = 0;
  auto wake = [&](uint16_t) { ++rings; };
  auto fail = [](uint16_t, const MailItem&) {};
  out.Stage(0, MailItem{});
  out.Flush(wake, fail);
  out.Stage(0, MailItem{});
  out.Flush(wake, fail);
  EXPECT_EQ(rings, 1) << "second batch arrives while the first is unread: no second wake-up";
  inbox.MarkDraining();
  MailItem items[8];
  EXPECT_EQ(inbox.queue().try_dequeue_bulk(items, 8), 2u);
  out.Stage(0, MailItem{});
  out.Flush(wake, fail);
  EXPECT_EQ(rings, 2);
}

// Several producer threads: every item arrives exactly once and in order per producer.
TEST(MailboxTest, ConcurrentProducersKeepPerProducerOrder) {
  constexpr int kProducers = 3;
  constexpr uint64_t kItems = 50000;
  Inbox inbox(kProducers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      Outbox out({&inbox}, static_cast<uint16_t>(p));
      for (uint64_t i = 0; i < kItems; ++i) {
        MailItem item{};
        item.a = i;
        out.Stage(0, item);
        if (i % 16 == 15) out.Flush([](uint16_t) {}, [](uint16_t, const MailItem&) {});
      }
      out.Flush([](uint16_t) {}, [](uint16_t, const MailItem&) {});
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t received = 0;
  moodycamel::ConsumerToken token(inbox.queue());
  MailItem items[64];
  while (received < kProducers * kItems) {
    size_t n = inbox.queue().try_dequeue_bulk(token, items, 64);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_LT(items[i].from_shard, kProducers);
      ASSERT_EQ(items[i].a, next[items[i].from_shard]) << "producer " << items[i].from_shard;
      ++next[items[i].from_shard];
    }
    received += n;
  }
  for (auto& t : threads) t.join();
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kItems);
}

}  // namespace
}  // namespace sb::engine
