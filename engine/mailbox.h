// Cross-shard mailboxes: the only way work moves between shards.
//
// Each shard owns one inbox (a moodycamel ConcurrentQueue, multi-producer) and every other
// shard holds a producer token for it, so a producer's items stay in its own sub-queue and
// are dequeued in FIFO order per producer. Producers stage items during a reactor turn and
// publish them with one enqueue_bulk per destination at the end of the turn (Seastar-style
// batching). A producer only rings the destination's doorbell (an io_uring MSG_RING, see
// Reactor) when the inbox flips from "drained" to "has mail", so a busy consumer costs no
// wakeups at all.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace sb::engine {

// A cross-shard item: a small tagged value; payloads travel as pointers to immutable blocks.
struct MailItem {
  enum class Kind : uint8_t {
    kAdoptConnection,   // ptr: ConnectionHandoff*, the destination becomes the owner
    kDirectRequest,     // ptr: DirectRequest*, deliver a direct message to a local client
    kDirectResult,      // a: request token, b: packed (status, reason)
    kPublish,           // ptr: RoutedMessage*, fan out to local subscribers (refcounted)
    kInterestChange,    // ptr: InterestChange*, another shard gained/lost a topic filter
    kSnapshot,          // ptr: control::SecuritySnapshot*, the newest security state
    kAdminResponse,     // ptr: control::ControlPlane::Response*, answer to a parked request
    kCredentialVerdict, // ptr: VerifyJob*, a password verified off the shard
    kDrain,             // stop accepting and drain (from the signal thread)
    kStop,              // leave the reactor loop
  };
  Kind kind;
  uint16_t from_shard = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  void* ptr = nullptr;
};

class Inbox {
 public:
  explicit Inbox(size_t shard_count) : queue_(1024, shard_count + 2, 0) {}

  moodycamel::ConcurrentQueue<MailItem>& queue() { return queue_; }

  // Called by a producer after publishing: true when the consumer must be woken.
  bool MarkHasMail() { return !has_mail_.exchange(true, std::memory_order_acq_rel); }
  // Called by the consumer right before it drains: later items will ring again.
  void MarkDraining() { has_mail_.store(false, std::memory_order_seq_cst); }

  size_t ApproxDepth() const { return queue_.size_approx(); }

 private:
  moodycamel::ConcurrentQueue<MailItem> queue_;
  alignas(64) std::atomic<bool> has_mail_{false};
};

// A shard's outgoing side: one staging vector and one producer token per destination.
class Outbox {
 public:
  Outbox(std::vector<Inbox*> inboxes, uint16_t self)
      : inboxes_(std::move(inboxes)), self_(self) {
    for (Inbox* inbox : inboxes_) {
      tokens_.push_back(std::make_unique<moodycamel::ProducerToken>(inbox->queue()));
      staged_.emplace_back();
      staged_.back().reserve(64);
    }
  }

  void Stage(uint16_t destination, MailItem item) {
    item.from_shard = self_;
    staged_[destination].push_back(item);
  }

  bool HasStaged() const {
    for (const auto& s : staged_) if (!s.empty()) return true;
    return false;
  }

  // Publishes every staged batch; calls wake(destination) for inboxes that need a doorbell.
  // Returns false if an enqueue failed (out of memory): those items are handed to
  // on_failed so the caller can answer them with a 500 instead of losing them silently.
  template <class Wake, class Failed>
  void Flush(Wake&& wake, Failed&& on_failed) {
    for (size_t d = 0; d < staged_.size(); ++d) {
      auto& batch = staged_[d];
      if (batch.empty()) continue;
      Inbox* inbox = inboxes_[d];
      if (!inbox->queue().enqueue_bulk(*tokens_[d], batch.data(), batch.size())) {
        for (const MailItem& item : batch) on_failed(static_cast<uint16_t>(d), item);
      } else if (inbox->MarkHasMail()) {
        wake(static_cast<uint16_t>(d));
      }
      batch.clear();
    }
  }

 private:
  std::vector<Inbox*> inboxes_;
  std::vector<std::unique_ptr<moodycamel::ProducerToken>> tokens_;
  std::vector<std::vector<MailItem>> staged_;
  uint16_t self_;
};

}  // namespace sb::engine
