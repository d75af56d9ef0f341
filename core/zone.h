// Zone is an interlocked pool of equal-size blocks (the NT guidelines'
// ExInterlocked...Zone): any thread may allocate a block and any thread may
// free it, with no lock on the common path.
//
// Use a Zone for a hot fixed-size object type shared between threads
// (connections, requests, queue nodes). For one thread, UnsynchronizedZone
// is cheaper. For mixed sizes, use malloc.
//
//   absl::StatusOr<std::unique_ptr<Zone>> zone =
//       Zone::Create({.name = "conn", .block_size = sizeof(Connection)});
//   void* block = (*zone)->Allocate();   // nullptr when the zone is full
//   ...
//   (*zone)->Free(block);                // from any thread
//
// Design. The blocks live in one reserved address range (BlockRegion) that is
// never unmapped while the zone lives. Free blocks sit on a lock-free,
// ABA-safe stack of block indices (TaggedIndexStack) whose links live beside
// the blocks. Allocate() pops, Free() pushes: one CAS each.
//
// IsFull() is the guidelines' ExIsFullZone: one relaxed load. Allocate()
// performs that check itself before any CAS or lock, so a full zone never
// ties up a processor.
//
// Misuse: freeing a pointer that is not the start of one of this zone's
// blocks always aborts with a message (it would corrupt the free list).
// Freeing a block twice aborts in debug builds (see internal/checks.h).

#ifndef ZONEALLOC_CORE_ZONE_H_
#define ZONEALLOC_CORE_ZONE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/statusor.h"
#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/concurrency/tagged_index_stack.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class Zone {
 public:
  // InvalidArgument for bad options (naming the field), ResourceExhausted
  // when the initial segment cannot be mapped.
  static absl::StatusOr<std::unique_ptr<Zone>> Create(const ZoneOptions& options);

  // Blocks still in use when the zone is destroyed become invalid.
  ~Zone() = default;
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  // Returns a free block of block_size() bytes, or nullptr when none is free.
  void* Allocate() {
    const uint32_t index = free_list_.Pop();
    if (ABSL_PREDICT_FALSE(index == kNoIndex)) return nullptr;
    if constexpr (internal::kDebugChecks) MarkAllocated(index);
    CountAllocation();
    return region_.BlockAt(index);
  }

  // Returns `block` to the zone. Any thread may free any block of this zone.
  // REQUIRES: block came from this zone's Allocate() and is not yet freed.
  void Free(void* block) {
    if (ABSL_PREDICT_FALSE(!region_.Contains(block))) CrashOnForeignFree(block);
    const uint32_t index = region_.IndexOf(block);
    if constexpr (internal::kDebugChecks) CheckAndMarkFree(index);
    // relaxed: a statistic; orders nothing.
    in_use_->fetch_sub(1, std::memory_order_relaxed);
    free_list_.Push(index);
  }

  // True when no block is free right now (ExIsFullZone). One relaxed load.
  bool IsFull() const { return free_list_.Empty(); }

  // True when p is a block handed out by (or free in) this zone. O(1).
  bool Owns(const void* p) const { return region_.Contains(p); }

  size_t block_size() const { return region_.block_size(); }
  const std::string& name() const { return name_; }

  ZoneStats Stats() const;

 private:
  Zone(const ZoneOptions& resolved, internal::BlockRegion region);

  void CountAllocation() {
    // relaxed: statistics; the free list orders the blocks themselves.
    const int64_t in_use = in_use_->fetch_add(1, std::memory_order_relaxed) + 1;
    if (ABSL_PREDICT_FALSE(in_use > peak_in_use_.load(std::memory_order_relaxed))) {
      RaisePeak(in_use);
    }
  }
  ABSL_ATTRIBUTE_NOINLINE void RaisePeak(int64_t in_use);

  void MarkAllocated(uint32_t index);
  void CheckAndMarkFree(uint32_t index);
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CrashOnForeignFree(
      const void* block) const;

  const std::string name_;
  internal::BlockRegion region_;
  // Read-mostly fields above; the two written words below own their lines.
  alignas(kCacheLineSize) TaggedIndexStack<> free_list_;
  CacheAligned<std::atomic<int64_t>> in_use_{0};
  std::atomic<int64_t> peak_in_use_{0};
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_H_
