// Zone is an interlocked pool of equal-size blocks (the NT guidelines'
// ExInterlocked...Zone): any thread may allocate a block and any thread may
// free it, with no lock on the common path, and the guidelines' rules for a
// full zone built in.
//
// Use a Zone for a hot fixed-size object type shared between threads
// (connections, requests, queue nodes). For one thread, UnsynchronizedZone
// is cheaper. For mixed sizes, use malloc.
//
//   absl::StatusOr<std::unique_ptr<Zone>> zone =
//       Zone::Create({.name = "conn", .block_size = sizeof(Connection)});
//   void* block = (*zone)->Allocate();   // nullptr only past every cap
//   ...
//   (*zone)->Free(block);                // from any thread
//
// Design. The permanent blocks live in one reserved address range
// (BlockRegion) that is never unmapped while the zone lives. Free blocks sit
// on a lock-free, ABA-safe stack of block indices (TaggedIndexStack) whose
// links live beside the blocks. Allocate() pops, Free() pushes: one CAS each.
//
// IsFull() is ExIsFullZone: one relaxed load. Allocate() makes that check
// itself (a pop of an empty stack is one load) before it takes any lock, so a
// full zone never ties up a processor spinning.
//
// When the zone is full, the slow path, under a spinlock, either serves the
// block from temporary overflow slabs (OverflowPool) or extends the zone
// permanently, by the guidelines' rule (ExtensionPolicy) and within
// max_blocks and its ZoneService's budget. Overflow blocks go back to their
// slab when freed, and slabs go back to the system once the zone has free
// blocks again. The lock-free list only ever holds permanent blocks.
//
// Slow-path protocol
//   slow_lock_ guards overflow_, policy_ and the extension counters, and
//   serializes region_.Grow().
//   not_full_epoch_ is bumped (release) by every Free() that pushes onto an
//   empty free list: the zone went from full to not full. The slow path
//   reads it (acquire) before re-checking the free list under the lock, so:
//     Thread 1 (slow path): reads epoch e; pop finds the list empty.
//     Thread 2 (Free):      pushes onto the empty list; epoch e+1.
//     Thread 1:             overflows in the episode of epoch e.
//   The next slow path sees e+1 != e and starts a new episode, as it should.
//   If thread 1 had read e+1 instead, thread 2's push happened before its
//   pop, which then finds the block.
//   has_spare_ mirrors overflow_.has_spare() so Free() can skip the lock
//   when there is no spare slab to give back.
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
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/concurrency/spinlock.h>
#include <zonealloc/concurrency/tagged_index_stack.h>
#include <zonealloc/extension_policy.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/overflow_pool.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class Zone {
 public:
  // A zone of ZoneService::Default(). InvalidArgument for bad options
  // (naming the field) or an initial segment past the service's budget;
  // ResourceExhausted when the initial segment cannot be mapped.
  static absl::StatusOr<std::unique_ptr<Zone>> Create(const ZoneOptions& options);

  // Unmaps everything; blocks still in use become invalid. Gives the
  // permanent memory back to the service's budget.
  ~Zone();
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  // A block of block_size() bytes: from the zone, else from overflow or a
  // permanent extension. nullptr only past max_overflow_blocks and every
  // extension limit, or when the page source fails.
  void* Allocate() {
    const uint32_t index = free_list_.Pop();
    if (ABSL_PREDICT_FALSE(index == kNoIndex)) return AllocateSlow();
    return TakePermanent(index);
  }

  // Returns `block` to the zone. Any thread may free any block of this zone.
  // REQUIRES: block came from this zone's Allocate() and is not yet freed.
  void Free(void* block) {
    if (ABSL_PREDICT_FALSE(!region_.Contains(block))) return FreeSlow(block);
    const uint32_t index = region_.IndexOf(block);
    if constexpr (internal::kDebugChecks) CheckAndMarkFree(index);
    // relaxed: a statistic; orders nothing.
    in_use_->fetch_sub(1, std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE(free_list_.Push(index))) OnNoLongerFull();
  }

  // True when no permanent block is free right now (ExIsFullZone).
  bool IsFull() const { return free_list_.Empty(); }

  // True when p is a block of this zone, permanent or overflow. O(1); takes
  // the slow-path lock for pointers outside the permanent range.
  bool Owns(const void* p) const;

  size_t block_size() const { return region_.block_size(); }
  const std::string& name() const { return name_; }

  // in_use_blocks and peak_in_use_blocks count permanent blocks exactly and
  // overflow blocks as of the snapshot; the peak is the permanent peak plus
  // the overflow peak, an upper bound when the two peaked apart.
  ZoneStats Stats() const;

 private:
  friend class ZoneService;
  Zone(const ZoneOptions& resolved, internal::BlockRegion region, ZoneService& service);

  void* TakePermanent(uint32_t index) {
    if constexpr (internal::kDebugChecks) MarkAllocated(index);
    // relaxed: statistics; the free list orders the blocks themselves.
    const int64_t in_use = in_use_->fetch_add(1, std::memory_order_relaxed) + 1;
    if (ABSL_PREDICT_FALSE(in_use > peak_in_use_.load(std::memory_order_relaxed))) {
      RaisePeak(in_use);
    }
    return region_.BlockAt(index);
  }

  ABSL_ATTRIBUTE_NOINLINE void* AllocateSlow();
  void* ExtendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  ABSL_ATTRIBUTE_NOINLINE void FreeSlow(void* block);
  ABSL_ATTRIBUTE_NOINLINE void OnNoLongerFull();
  ABSL_ATTRIBUTE_NOINLINE void RaisePeak(int64_t in_use);
  uint64_t PermanentBytes(size_t blocks) const;

  void MarkAllocated(uint32_t index);
  void CheckAndMarkFree(uint32_t index);
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CrashOnForeignFree(
      const void* block) const;

  // Read-mostly.
  const std::string name_;
  const size_t extension_blocks_;
  ZoneService& service_;
  internal::BlockRegion region_;

  // Written on every allocation and free: each owns its cache line.
  alignas(kCacheLineSize) TaggedIndexStack<> free_list_;
  CacheAligned<std::atomic<int64_t>> in_use_{0};
  std::atomic<int64_t> peak_in_use_{0};

  // Written when the zone goes from full to not full.
  alignas(kCacheLineSize) std::atomic<uint64_t> not_full_epoch_{0};
  std::atomic<bool> has_spare_{false};

  // The slow path.
  mutable SpinLock slow_lock_;
  OverflowPool overflow_ ABSL_GUARDED_BY(slow_lock_);
  ExtensionPolicy policy_ ABSL_GUARDED_BY(slow_lock_);
  size_t extensions_ ABSL_GUARDED_BY(slow_lock_) = 0;
  size_t extension_refusals_ ABSL_GUARDED_BY(slow_lock_) = 0;
  size_t overflow_peak_ ABSL_GUARDED_BY(slow_lock_) = 0;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_H_
