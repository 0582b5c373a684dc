// Lays several arrays out in one heap block so a compiled policy is a single allocation and
// a decision touches neighbouring cache lines instead of one vector per section.
// Control plane only (allocates); the placed arrays are read-only afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sb::policy::internal {

inline constexpr std::size_t kCacheLineBytes = 64;

// Asks for the lines of [start, start + bytes) without waiting for them. Always inlined:
// GCC proves that a function doing nothing but prefetch has no side effects and deletes
// the calls to it (it did so to IamPoliciesView::Decide's). Prefetching never faults, so
// the range may run past the end of an object; the addresses are computed as integers, as
// pointer arithmetic past an object's end would be undefined.
[[gnu::always_inline]] inline void PrefetchLines(const void* start, std::size_t bytes) noexcept {
  const auto first = reinterpret_cast<std::uintptr_t>(start);
  for (std::size_t offset = 0; offset < bytes; offset += kCacheLineBytes) {
    __builtin_prefetch(reinterpret_cast<const void*>(first + offset));
  }
  // `start` need not begin a line, so the last byte's line may be one more.
  if (bytes != 0) __builtin_prefetch(reinterpret_cast<const void*>(first + bytes - 1));
}

class BlockLayout {
 public:
  // Reserves room for `count` objects of T (trivially copyable) and returns its offset.
  template <typename T>
  std::size_t Reserve(std::size_t count) {
    size_ = (size_ + alignof(T) - 1) / alignof(T) * alignof(T);
    const std::size_t offset = size_;
    size_ += sizeof(T) * count;
    return offset;
  }

  std::size_t size() const noexcept { return size_; }

  // Allocates the block; aligned for every type reserved (operator new[] alignment).
  std::unique_ptr<std::byte[]> Allocate() const {
    return std::make_unique<std::byte[]>(size_ == 0 ? 1 : size_);
  }

  template <typename T>
  static const T* Place(std::byte* block, std::size_t offset, const std::vector<T>& items) {
    if (!items.empty()) std::memcpy(block + offset, items.data(), sizeof(T) * items.size());
    return reinterpret_cast<const T*>(block + offset);
  }

  static std::string_view PlaceBytes(std::byte* block, std::size_t offset, std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(block + offset, bytes.data(), bytes.size());
    return std::string_view(reinterpret_cast<const char*>(block + offset), bytes.size());
  }

 private:
  std::size_t size_ = 0;
};

}  // namespace sb::policy::internal
