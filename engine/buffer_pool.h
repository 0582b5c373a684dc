// Pooled byte buffers for one shard: connection input remainders and outbound queues.
//
// A buffer is taken when a connection has something to hold and given back as soon as it
// is empty, so idle connections own none. Buffers of the standard size are recycled through
// a bounded free list; larger ones (a 128 KiB direct message, say) are freed on release so
// a burst does not pin memory. Shard-local, not thread-safe.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace sb::engine {

struct ByteBuffer {
  uint8_t* data = nullptr;
  uint32_t size = 0;       // bytes in use
  uint32_t capacity = 0;
  uint32_t read_offset = 0;  // bytes already consumed from the front

  uint32_t readable() const { return size - read_offset; }
  const uint8_t* read_ptr() const { return data + read_offset; }
};

class BufferPool {
 public:
  explicit BufferPool(uint32_t standard_size = 4096, size_t max_pooled = 4096)
      : standard_size_(standard_size), max_pooled_(max_pooled) {}
  ~BufferPool() {
    for (ByteBuffer* b : free_) Destroy(b);
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  ByteBuffer* Acquire(uint32_t min_capacity) {
    ByteBuffer* b;
    if (min_capacity <= standard_size_ && !free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      b = new ByteBuffer;
      b->capacity = min_capacity > standard_size_ ? min_capacity : standard_size_;
      b->data = static_cast<uint8_t*>(std::malloc(b->capacity));
    }
    b->size = 0;
    b->read_offset = 0;
    ++outstanding_;
    return b;
  }

  void Release(ByteBuffer* b) {
    if (!b) return;
    --outstanding_;
    if (b->capacity == standard_size_ && free_.size() < max_pooled_) {
      free_.push_back(b);
    } else {
      Destroy(b);
    }
  }

  // Makes room for `extra` more bytes at the end, compacting consumed bytes first.
  // Growth beyond the standard size goes through realloc (rare: large payloads only).
  static void Reserve(ByteBuffer* b, uint32_t extra) {
    if (b->read_offset > 0 && b->size + extra > b->capacity) {
      std::memmove(b->data, b->data + b->read_offset, b->size - b->read_offset);
      b->size -= b->read_offset;
      b->read_offset = 0;
    }
    if (b->size + extra > b->capacity) {
      uint32_t cap = b->capacity;
      while (cap < b->size + extra) cap *= 2;
      b->data = static_cast<uint8_t*>(std::realloc(b->data, cap));
      b->capacity = cap;
    }
  }

  static void Append(ByteBuffer* b, const void* bytes, uint32_t n) {
    Reserve(b, n);
    std::memcpy(b->data + b->size, bytes, n);
    b->size += n;
  }

  size_t outstanding() const { return outstanding_; }
  size_t pooled() const { return free_.size(); }

 private:
  static void Destroy(ByteBuffer* b) {
    std::free(b->data);
    delete b;
  }

  uint32_t standard_size_;
  size_t max_pooled_;
  std::vector<ByteBuffer*> free_;
  size_t outstanding_ = 0;
};

}  // namespace sb::engine
