// Reactor: one io_uring per shard, created and driven by the shard's own thread.
//
// Set up with SINGLE_ISSUER + DEFER_TASKRUN when the kernel has them (completion work then
// runs only when this thread enters the kernel, in batches), falling back to a plain ring
// otherwise. Receives use a provided-buffer ring registered here (liburing 2.3 has no
// io_uring_setup_buf_ring): the kernel picks a buffer only when data arrives, so an idle
// connection holds no receive memory. Completions carry a 64-bit user_data that the shard
// decodes (see UserData). Not thread-safe: every call except RingFd() must come from the
// owning shard thread.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

namespace sb::engine {

// user_data layout: [op:8][generation:24][index:32].
enum class Op : uint8_t {
  kAccept = 1,    // index: listener id
  kRecv,          // index: connection slot
  kSend,
  kMailbox,       // MSG_RING doorbell from another shard
  kCancel,        // completion of a cancel request (ignored)
  kWakeup,        // a timeout used to bound the wait (ignored)
};

struct UserData {
  static uint64_t Make(Op op, uint32_t index, uint32_t generation = 0) {
    return (uint64_t(op) << 56) | (uint64_t(generation & 0xFFFFFF) << 32) | index;
  }
  static Op OpOf(uint64_t ud) { return static_cast<Op>(ud >> 56); }
  static uint32_t IndexOf(uint64_t ud) { return static_cast<uint32_t>(ud); }
  static uint32_t GenerationOf(uint64_t ud) { return static_cast<uint32_t>(ud >> 32) & 0xFFFFFF; }
};

class Reactor {
 public:
  struct Options {
    unsigned sq_entries = 4096;
    unsigned buffer_count = 1024;   // provided receive buffers (power of two)
    unsigned buffer_size = 16384;
  };

  Reactor() = default;
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Must run on the thread that will drive the ring. Returns false and sets *error on failure.
  bool Init(const Options& options, std::string* error);

  int RingFd() const { return ring_.ring_fd; }
  bool single_issuer() const { return single_issuer_; }

  void AcceptMultishot(int listen_fd, uint64_t user_data);
  // A recv that picks a provided buffer; multishot keeps delivering until it ends.
  void Recv(int fd, uint64_t user_data, bool multishot);
  void Send(int fd, const void* data, size_t length, uint64_t user_data);
  // Posts a completion (Op::kMailbox) on another shard's ring: the cross-shard doorbell.
  void Ring(int target_ring_fd, uint64_t user_data);
  void Cancel(uint64_t target_user_data);

  // Provided buffers: a completion with IORING_CQE_F_BUFFER names the buffer it filled.
  uint8_t* BufferData(uint16_t buffer_id) { return buffers_ + size_t(buffer_id) * options_.buffer_size; }
  // Gives a buffer back to the kernel; published in one batch by PublishRecycledBuffers.
  void RecycleBuffer(uint16_t buffer_id);
  void PublishRecycledBuffers();

  // Submits everything queued and waits for at least one completion or `timeout_ms`
  // (-1: no timeout). Returns the number of completions ready.
  unsigned SubmitAndWait(int timeout_ms);
  // Submits without waiting (used before blocking elsewhere).
  void Submit();

  template <class F>
  unsigned ForEachCompletion(F&& f) {
    unsigned head, count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      f(*cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    return count;
  }

 private:
  io_uring_sqe* NextSqe();

  Options options_;
  io_uring ring_{};
  bool initialized_ = false;
  bool single_issuer_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  unsigned pending_recycled_ = 0;
  static constexpr uint16_t kBufferGroup = 0;
};

}  // namespace sb::engine
