// SPDX-License-Identifier: Apache-2.0
// Cache-line alignment for hot shared words.
//
// Two atomics written by different threads must not share a cache line, or
// every write by one thread invalidates the other's copy ("false sharing").
// Wrap such a word in CacheAligned<T>, or put `alignas(kCacheLineSize)` on
// the member, so it owns its line.

#ifndef ZONEALLOC_CONCURRENCY_CACHE_ALIGNED_H_
#define ZONEALLOC_CONCURRENCY_CACHE_ALIGNED_H_

#include <cstddef>
#include <utility>

namespace zonealloc {

// 64 bytes on x86-64 and on the common Arm cores. Not
// std::hardware_destructive_interference_size: GCC warns that its value may
// differ between translation units built with different -mtune flags.
inline constexpr std::size_t kCacheLineSize = 64;

// A T alone on its cache line(s). Access it through `value` or operator->.
template <typename T>
struct alignas(kCacheLineSize) CacheAligned {
  template <typename... Args>
  explicit CacheAligned(Args&&... args) : value(std::forward<Args>(args)...) {}

  T* operator->() { return &value; }
  const T* operator->() const { return &value; }

  T value;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_CACHE_ALIGNED_H_
