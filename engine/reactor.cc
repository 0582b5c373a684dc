#include "engine/reactor.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace sb::engine {

Reactor::~Reactor() {
  if (!initialized_) return;
  if (buf_ring_) {
    io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    munmap(buf_ring_, buf_ring_bytes_);
  }
  if (buffers_) munmap(buffers_, buffers_bytes_);
  io_uring_queue_exit(&ring_);
}

bool Reactor::Init(const Options& options, std::string* error) {
  options_ = options;
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  params.flags |= IORING_SETUP_CQSIZE;
  params.cq_entries = options.sq_entries * 4;
  int rc = io_uring_queue_init_params(options.sq_entries, &ring_, &params);
  if (rc == 0) {
    single_issuer_ = true;
  } else {
    // Older kernel: a plain ring still works, completions are just processed eagerly.
    io_uring_params fallback{};
    fallback.flags = IORING_SETUP_CQSIZE;
    fallback.cq_entries = options.sq_entries * 4;
    rc = io_uring_queue_init_params(options.sq_entries, &ring_, &fallback);
    if (rc != 0) {
      *error = std::string("io_uring_queue_init: ") + std::strerror(-rc);
      return false;
    }
  }
  initialized_ = true;

  // Provided-buffer ring, registered by hand (liburing 2.3 lacks io_uring_setup_buf_ring).
  buf_ring_bytes_ = sizeof(io_uring_buf) * options.buffer_count;
  void* ring_mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_mem == MAP_FAILED) {
    *error = "mmap(buffer ring) failed";
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = options.buffer_count;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc != 0) {
    *error = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    return false;
  }
  // The buffers themselves: lazily backed by the kernel, so untouched ones cost no RSS.
  buffers_bytes_ = size_t(options.buffer_count) * options.buffer_size;
  void* mem = mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *error = "mmap(receive buffers) failed";
    return false;
  }
  buffers_ = static_cast<uint8_t*>(mem);
  for (unsigned i = 0; i < options.buffer_count; ++i) RecycleBuffer(static_cast<uint16_t>(i));
  PublishRecycledBuffers();
  return true;
}

io_uring_sqe* Reactor::NextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    // Submission queue full: push what we have to the kernel and try again.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Reactor::AcceptMultishot(int listen_fd, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Reactor::Recv(int fd, uint64_t user_data, bool multishot) {
  io_uring_sqe* sqe = NextSqe();
  if (multishot) {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, fd, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Reactor::Send(int fd, const void* data, size_t length, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_send(sqe, fd, data, length, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Reactor::Ring(int target_ring_fd, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_msg_ring(sqe, target_ring_fd, 0, user_data, 0);
  // The sender's own completion for this op is noise: tag it so it is ignored.
  io_uring_sqe_set_data64(sqe, UserData::Make(Op::kCancel, 0));
}

void Reactor::Cancel(uint64_t target_user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_cancel64(sqe, target_user_data, 0);
  io_uring_sqe_set_data64(sqe, UserData::Make(Op::kCancel, 0));
}

void Reactor::RecycleBuffer(uint16_t buffer_id) {
  io_uring_buf_ring_add(buf_ring_, BufferData(buffer_id), options_.buffer_size, buffer_id,
                        io_uring_buf_ring_mask(options_.buffer_count), pending_recycled_);
  ++pending_recycled_;
}

void Reactor::PublishRecycledBuffers() {
  if (pending_recycled_ == 0) return;
  io_uring_buf_ring_advance(buf_ring_, pending_recycled_);
  pending_recycled_ = 0;
}

void Reactor::Submit() { io_uring_submit(&ring_); }

unsigned Reactor::SubmitAndWait(int timeout_ms) {
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout_ms < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  (void)rc;  // -ETIME / -EINTR simply mean "no completion yet"
  return io_uring_cq_ready(&ring_);
}

}  // namespace sb::engine
