// SPDX-License-Identifier: Apache-2.0
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
// Design, front to back:
//   1. Per-CPU caches (PerCpuCache): Allocate() pops and Free() pushes the
//      current CPU's cache: no shared cache line, and with rseq no atomic
//      read-modify-write (the fallback takes an uncontended lock word). With
//      caches off, every operation is a CAS on the shared zone plus a
//      relaxed add on a shared statistics word; an allocation also reads
//      the peak (a CAS when it sets a new one) and makes the two loads and
//      a compare of PrefaultAhead().
//   2. The shared zone (SharedZone, shared_zone.h): permanent blocks in one
//      reserved address range (BlockRegion) that is never unmapped while
//      the zone lives, free ones on two lock-free, ABA-safe stacks of block
//      indices, one of whole batches (a cache refill pops one with a CAS, a
//      flush claims a batch slot and pushes, each besides a relaxed add on
//      the count of blocks out) and one of single blocks, and the blocks of
//      the newest segment that no one has taken yet (the fresh range, taken
//      in address order, after the stacks). Their links (BlockRegion's links and batch slots) live
//      beside the blocks.
//   3. The slow path, under a spinlock, when the shared zone is empty:
//      serve temporary overflow (OverflowPool) or extend the zone
//      permanently by the guidelines' rule (ExtensionPolicy), within
//      max_blocks and the ZoneService budget. An extension's blocks are
//      prefaulted a little ahead of their use (PrefaultAhead): a zone
//      extends only under sustained demand, so the next blocks are about to
//      be used, and one call makes their pages resident for less than a
//      page fault each. The threads that take them share the work, outside
//      the lock, and what is prefaulted and not yet taken stays within
//      about a chunk and a half (below), however large the extension. The
//      initial segment stays untouched until used, so a zone created and
//      little used costs little memory.
//
// Full-zone path: cached blocks are free blocks, but draining a CPU's cache
// costs a fence (an interrupt) on that CPU and resets its depth. The slow
// path drains every CPU first when the caches hold at least a batch
// together, since that can avoid the overflow or the extension. With fewer
// cached blocks it overflows, or extends if the rule says so: a zone
// extends only while its caches hold less than a batch in all. The blocks
// they hold come back at the next flush, drain or idle scan, and the
// overflow goes back once the zone has free blocks.
//
// IsFull() is ExIsFullZone: a few relaxed loads (and sched_getcpu() with
// fallback caches). Allocate() makes the same check on its way (an empty
// cache, then an empty shared zone) before it takes the slow-path lock, so
// the lock is taken only when the zone really is full, and then for
// overflow or extension, never to find nothing.
//
// Slow-path protocol
//   slow_lock_ guards overflow_, policy_, the extension counters and the
//   idle-cache scan, and serializes region_.Grow() and cache drains.
//   not_full_epoch_ is bumped (release) whenever the zone is seen to go from
//   full to not full: a free onto an empty shared stack, a slow path that
//   finds a block after all, an extension. (A free onto an empty stack
//   while fresh blocks remain bumps it too, needlessly: the zone was not
//   full, so no episode is under way.) The slow path reads it (acquire)
//   before re-checking the shared zone under the lock, so:
//     Thread 1 (slow path): reads epoch e; finds the shared zone empty.
//     Thread 2 (Free):      pushes onto the empty stack; epoch e+1.
//     Thread 1:             overflows in the episode of epoch e.
//   The next slow path sees e+1 != e and starts a new episode, as it should.
//   If thread 1 had read e+1 instead, thread 2's push happened before its
//   re-check, which then finds the block.
//
// Spare-slab protocol
//   The overflow pool keeps one empty slab (the spare) only while the zone
//   is full; it goes back once the shared zone has free blocks again.
//   has_spare_ mirrors overflow_.has_spare(), written under slow_lock_, so a
//   push onto an empty shared stack skips the lock when no spare waits.
//   Both sides write and then read the other's word, all four seq_cst:
//     FreeOverflow (lock held): keeps the spare (for a batch of frees, by
//                           any of them); then, once per hold,
//                           has_spare_ = true;
//                           shared zone non-empty? -> release the spare.
//     Pusher:               push (the stack's CAS) onto an empty stack;
//                           has_spare_? -> take the lock, release the spare.
//   Of two threads doing that, at least one sees the other's write (the
//   store-buffering litmus test under seq_cst), so this interleaving
//     FreeOverflow: sees the shared zone empty, keeps the spare ...
//     Pusher:       pushes, reads has_spare_ == false, returns ...
//     FreeOverflow: ... publishes has_spare_ = true
//   ends with FreeOverflow's re-check finding the pushed block. A pusher that
//   already holds the lock (Drain(), the slow path, an extension) releases
//   the spare itself. A free into a CPU cache does not touch the shared
//   zone, so with caches the spare goes back at the next flush onto an
//   empty shared zone, Drain(), or slow path that finds blocks.
//
// Prefault ahead
//   A chunk is kPrefaultAheadBytes of blocks (at least one block and a CPU
//   cache's batch). prefaulted_end_ is the index below which the fresh
//   range needs no prefault; it starts at the end of the initial segment.
//   A take whose last block T satisfies T + ceil(chunk / 2) >= end, with
//   blocks committed past end, makes the taking thread move end to
//   min(max(end, T + 1) + chunk, committed) with a compare-exchange and
//   prefault [max(end, T + 1), new end), after re-checking the condition
//   against end as it loads it again. So the end runs at most ceil(chunk /
//   2) + chunk blocks past the block whose take moved it:
//     Thread 1: takes T = end - 10; due; loads end; moves it a chunk on.
//     Thread 2: takes T + 1, due against the end it read before ...
//     Thread 2: ... loads the new end: not due any more; returns.
//   Without the re-check thread 2 would move the end a second chunk on.
//   Two threads that load the same end both try the exchange; one wins.
//
// Idle caches: every miss or flush checks, at most once a second, which
// CPUs' caches saw no miss or flush and kept the same count since the
// previous check, and drains those back into the shared zone (a drain also
// puts the CPU back to its initial depth, so an idle cache left empty but
// deep is drained too). Drain() does it for every CPU on
// demand. So blocks held in caches stay bounded (see
// ZoneOptions::cpu_cache_max_blocks), and an idle CPU's share returns within
// about two seconds of the next miss or flush on another CPU.
//
// Lock order (a thread that holds one may take only those below it):
//   1. the fork registry's lock (zone_service.cc; fork() handlers only)
//   2. ZoneService::mu_ (the service's list of zones)
//   3. Zone::slow_lock_
//   4. PerCpuCache's per-CPU lock words (the fallback mode)
// The one other zonealloc lock is a leaf: the std::mutex over the
// environment variables already warned about (internal/env.cc), taken with
// no other lock held. Calls out under a lock: the zone's PageSource
// (Commit, Map, Unmap under slow_lock_), which must not call back into
// zonealloc (page_source.h), and operator new under ZoneService::mu_ (its
// list of zones, Snapshot(), the stats of destroyed zones), which may
// allocate from a zone: that takes only locks below mu_. Allocate(), Free(), their bulk
// forms, IsFull(), Owns() and Drain() never call operator new, the slow
// path and its misuse crashes included, and the library makes no direct
// malloc call: the slow path maps overflow slabs and indexes them in memory
// of its own. So an operator new that serves small objects from a zone
// cannot re-enter it under its lock (core/zone_no_heap_test.cc; a custom
// PageSource must keep to it too).
//
// fork(): zones stay usable in the child, as malloc does. pthread_atfork
// handlers (installed with the first ZoneService) take every lock above in
// that order before the fork and release them in the parent and the child,
// so the child never inherits a lock held by a thread that does not exist
// there. Blocks held by the parent's other threads stay allocated in the
// child. Allocate(), Free() and Stats() are not async-signal-safe, as
// malloc is not: calling them from a signal handler that interrupted one of
// them on the same thread can deadlock (the fallback's lock word is taken
// on the fast path too).
//
// Misuse: freeing a pointer that is not the start of one of this zone's
// blocks always aborts with a message (it would corrupt the free list).
// Freeing a block twice aborts in debug builds (see internal/checks.h), and
// in any build for a zone with ZoneOptions::debug_checks, which also
// catches a write into a freed block when it is handed out again (past the
// first 8 bytes of an overflow block: its slab's free-list link).
// Writing into a block after freeing it is undefined, as with malloc: the
// shared zone keeps batch lists inside free blocks. In an AddressSanitizer
// build of the library a free block is poisoned wherever it waits (CPU
// cache, shared zone, overflow), so such a read or write stops the program
// with an ASan report. In a build configured with ZONEALLOC_VALGRIND the
// zone is a Valgrind mempool: a block is allocated for memcheck from
// Allocate() to Free(), and free wherever it waits, so such a read or write
// under `valgrind --tool=memcheck` is an "Invalid read"/"Invalid write",
// and blocks still in use when the program exits (the zone not destroyed)
// are leaks for --leak-check=full (internal/memcheck_hooks.h).
// Both happen outside the CPU caches' critical sections: Free() marks a
// block free before it pushes it, and Allocate() marks it allocated after
// the pop.

#ifndef ZONEALLOC_CORE_ZONE_H_
#define ZONEALLOC_CORE_ZONE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/concurrency/percpu_cache.h>
#include <zonealloc/concurrency/spinlock.h>
#include <zonealloc/extension_policy.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/overflow_pool.h>
#include <zonealloc/shared_zone.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class Zone {
 public:
  // A zone of ZoneService::Default(). InvalidArgument for bad options
  // (naming the field) or an initial segment past the service's budget;
  // FailedPrecondition for cpu_cache = kRseq where rseq is unsupported;
  // ResourceExhausted when the initial segment cannot be mapped.
  static absl::StatusOr<std::unique_ptr<Zone>> Create(const ZoneOptions& options);

  // Unmaps everything; blocks still in use become invalid, and when there
  // are any, one line on stderr says how many (a leak report). Gives the
  // permanent memory back to the service's budget.
  ~Zone();
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  // A block of block_size() bytes: from this CPU's cache, else the shared
  // zone, else overflow or a permanent extension. nullptr only when the
  // zone is full, its overflow is at max_overflow_blocks and it may not
  // extend now (max_blocks or the service budget), or when the
  // page source fails (or overflow cannot index another slab: it holds 65536
  // already, or mmap refuses the index's array; see overflow_pool.h).
  void* Allocate() {
    if (ABSL_PREDICT_TRUE(rseq_cache_)) {
      void* block = cache_->PopRseq();
      if (ABSL_PREDICT_TRUE(block != nullptr)) return MarkAllocated(block);
      return AllocateMiss();
    }
    return AllocateWithoutRseq();
  }

  // Returns `block` to the zone. Any thread may free any block of this zone.
  // Free(nullptr) does nothing, as free(NULL).
  // REQUIRES: block is nullptr, or came from this zone's Allocate() and is
  // not yet freed.
  void Free(void* block) {
    if (ABSL_PREDICT_FALSE(!region_.Contains(block))) return FreeSlow(block);
    if (ABSL_PREDICT_TRUE(rseq_cache_)) {
      MarkFree(block);
      if (ABSL_PREDICT_TRUE(cache_->TryPushRseq(block))) return;
      return FreeMiss(block);
    }
    return FreeWithoutRseq(block);
  }

  // Fills `blocks` and returns how many it filled: all of them unless a cap
  // or the page source stopped it (as Allocate() returning nullptr). Takes
  // what this CPU's cache holds first, then up to 256 blocks
  // (SharedZone::kMaxBatchBlocks) at a time from the shared zone (whole
  // batches where it has them), then from the slow path, up to 256 blocks
  // per hold of its lock: overflow and extension follow the rule block by
  // block there (a hold maps at most one overflow slab or extension).
  size_t AllocateBulk(std::span<void*> blocks);

  // Frees every block in `blocks` (REQUIRES as Free(); nullptr entries are
  // skipped), returning those the cache cannot hold to the shared zone in
  // batches, and overflow blocks to their slabs up to 256 per hold of the
  // slow-path lock.
  void FreeBulk(std::span<void* const> blocks);

  // True when no permanent block is free to this thread right now: its
  // CPU's cache and the shared zone are empty (ExIsFullZone).
  bool IsFull() const;

  // True when p is a block of this zone, permanent or overflow. O(1) for
  // pointers in the permanent range; others take the slow-path lock and a
  // lookup among the live overflow slabs (O(log slabs)).
  bool Owns(const void* p) const;

  // Moves every block held in CPU caches back to the shared zone, and puts
  // every CPU's cache back to its initial depth (cpu_cache_blocks).
  void Drain();

  size_t block_size() const { return region_.block_size(); }
  // The alignment of every block, permanent or overflow:
  // max(ZoneOptions::alignment, 8).
  size_t alignment() const { return alignment_; }
  const std::string& name() const { return name_; }
  // ZoneOptions::debug_checks as resolved (see there).
  bool debug_checks() const { return debug_checks_; }
  CpuCacheMode cpu_cache_mode() const {
    if (!cache_.has_value()) return CpuCacheMode::kOff;
    return cache_->mode() == PerCpuCache::Mode::kRseq ? CpuCacheMode::kRseq
                                                      : CpuCacheMode::kFallback;
  }

  // A snapshot of the counters; see zone_stats.h for what each one means
  // and when it is exact.
  ZoneStats Stats() const;

 private:
  friend class ZoneService;
  friend struct ForkHandlers;  // zone_service.cc
  Zone(const ZoneOptions& resolved, internal::BlockRegion region, ZoneService& service,
       void* cache_memory, size_t cache_bytes);

  // Whether the calling thread holds slow_lock_ (see "Spare-slab protocol").
  enum class SlowLock { kNotHeld, kHeld };

  // Every permanent block handed out passes here: for a memory checker it
  // is the program's from now on (internal/memcheck_hooks.h).
  void* MarkAllocated(void* block) {
    if constexpr (internal::kDebugChecks) MarkAllocatedIndex(region_.IndexOf(block));
    internal::BlockHandedOut(this, block, block_size());
    return block;
  }
  // A permanent block about to be freed: the build's double-free check,
  // then free for a memory checker, before the push: once pushed, another
  // thread may take it.
  void MarkFree(void* block) {
    if constexpr (internal::kDebugChecks) CheckAndMarkFree(block);
    internal::BlockFreed(this, block, block_size());
  }
  // Without caches every block out of the shared zone is in use, so the
  // peak is tracked exactly on the way out.
  void NotePeakWithoutCaches(int64_t shared_out);

  // fork() support, called by ZoneService's handlers (lock order above).
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(slow_lock_);
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(slow_lock_);

  // Allocate() and Free() for every zone but one with rseq caches: the
  // fallback caches, no caches, debug checks. Out of line, so the rseq path
  // inlined into callers is only a few instructions, with no frame to set up.
  ABSL_ATTRIBUTE_NOINLINE void* AllocateWithoutRseq();
  ABSL_ATTRIBUTE_NOINLINE void FreeWithoutRseq(void* block);
  ABSL_ATTRIBUTE_NOINLINE void* AllocateMiss();
  ABSL_ATTRIBUTE_NOINLINE void FreeMiss(void* block);
  ABSL_ATTRIBUTE_NOINLINE void* AllocateSlow() ABSL_LOCKS_EXCLUDED(slow_lock_);
  // Fills `out` from the slow path, up to kMaxBatchBlocks per hold of its
  // lock; returns how many it filled, fewer only when a block would be
  // nullptr from Allocate() (a cap, or the page source failed).
  size_t AllocateSlow(std::span<void*> out) ABSL_LOCKS_EXCLUDED(slow_lock_);
  ABSL_ATTRIBUTE_NOINLINE void FreeSlow(void* block) ABSL_LOCKS_EXCLUDED(slow_lock_);
  // Overflow blocks back to their slabs, many per hold of the lock; aborts
  // on a pointer that is no block of this zone.
  void FreeOverflow(std::span<void* const> blocks) ABSL_LOCKS_EXCLUDED(slow_lock_);
  size_t FreeOverflowLocked(std::span<void* const> blocks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  ABSL_ATTRIBUTE_NOINLINE void OnNoLongerFull(SlowLock lock);
  ABSL_ATTRIBUTE_NOINLINE void RaisePeak(int64_t in_use) const;
  // The paths of a debug-checked zone (ZoneOptions::debug_checks).
  ABSL_ATTRIBUTE_NOINLINE void* AllocateChecked();
  ABSL_ATTRIBUTE_NOINLINE void FreeChecked(void* block);
  // MarkAllocated() off the fast path; a debug-checked zone also marks the
  // block allocated and, when it comes from the shared zone (`filled`),
  // verifies its fill.
  void* HandOut(void* block, bool filled);
  // Crashes, naming the byte, unless block[from_offset, block_size()) holds
  // the fill of a freed block.
  void VerifyFill(const void* block, size_t from_offset = 0) const;
  void VerifyOverflowFill(const void* block, bool recycled) const;

  // SharedZone::Take() and Put(), and the zone's reaction when a push found
  // the shared zone empty (OnNoLongerFull) or a take neared the end of the
  // prefaulted blocks (PrefaultAhead, unless under the lock).
  uint32_t TakeFromShared(void** out, uint32_t max, SlowLock lock);
  void ReturnToShared(void* const* blocks, size_t n, SlowLock lock);
  // Blocks sitting in CPU caches now; racy.
  size_t CachedBlocks() const;
  // The spare slab kept or given back: mirrors it in has_spare_ and
  // re-checks the shared zone (see "Spare-slab protocol").
  void PublishSpareLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  void ReleaseSpareLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // Blocks from the shared zone after all (the zone is not full), handed
  // out; 0 when it is empty.
  size_t TakeLocked(std::span<void*> out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // Samples in_use_blocks into the peak, taking `cached` as the blocks in
  // CPU caches: the caller's last CachedBlocks(), so that a single
  // Allocate() through the slow path reads every CPU's count once, not once
  // for the drain decision and again here. Exact only when nothing moved
  // since that count (see ZoneStats::peak_in_use_blocks).
  void NotePeakLocked(size_t cached) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // What one hold of the slow-path lock filled, and whether it stopped
  // because a block could not be had (not for a second system call).
  struct SlowFill {
    size_t blocks = 0;
    bool failed = false;
  };
  SlowFill AllocateSlowLocked(uint64_t epoch, std::span<void*> out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  void* ExtendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // The blocks the next extension adds, charged to the service's budget:
  // the grown step (ZoneOptions::extension_growth_percent), else
  // extension_blocks; 0 when max_blocks or the budget refuses both.
  size_t ChargeExtensionLocked(size_t old_blocks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // Called with the last block a take from the shared zone handed out
  // (fresh blocks come last): once a take comes within half a chunk of
  // prefaulted_end_ and blocks past it are committed, the thread prefaults
  // the next chunk (see "Prefault ahead"). Two loads and a compare
  // otherwise, in the initial segment and once an extension is prefaulted
  // to its end.
  void PrefaultAhead(const void* taken) ABSL_LOCKS_EXCLUDED(slow_lock_) {
    // relaxed: a hint; see PrefaultAheadSlow().
    const uint32_t end = prefaulted_end_.load(std::memory_order_relaxed);
    if (end >= region_.committed_blocks()) return;
    const uint32_t index = region_.IndexOf(taken);
    if (PrefaultDue(index, end)) PrefaultAheadSlow(index);
  }
  bool PrefaultDue(uint32_t taken, uint32_t end) const {
    return uint64_t{taken} + (prefault_chunk_blocks_ + 1) / 2 >= end;
  }
  ABSL_ATTRIBUTE_NOINLINE void PrefaultAheadSlow(uint32_t taken) ABSL_LOCKS_EXCLUDED(slow_lock_);
  // A chunk: 64 pages, 25-50 us of the prefaulting thread's time on the
  // development VM; at least a block, and a CPU cache's batch.
  static constexpr size_t kPrefaultAheadBytes = size_t{256} << 10;
  // prefaulted_end_ when nothing is to be prefaulted.
  static constexpr uint32_t kNoPrefault = UINT32_MAX;
  void DrainCpuLocked(int cpu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // Which CPUs a drain of all takes: those that cache blocks, and, for
  // Drain(), also empty ones deeper than their initial depth.
  enum class EmptyCaches { kSkip, kBackToInitialDepth };
  void DrainAllLocked(EmptyCaches empty) ABSL_EXCLUSIVE_LOCKS_REQUIRED(slow_lock_);
  // On a CPU cache's miss or flush (caches on): samples the peak at most
  // every millisecond (or tick of the coarse clock), then scans for idle
  // caches at most every second.
  void OnCacheMissOrFlush();
  void MaybeDrainIdleCaches(int64_t now_ns);
  uint64_t PermanentBytes(size_t blocks) const;
  // Blocks [first, first + n) of a new segment, before the shared zone gets
  // them: filled in a debug-checked zone, free for a memory checker.
  void PrepareFreshBlocks(size_t first, size_t n) const;

  void MarkAllocatedIndex(uint32_t index);
  void CheckAndMarkFree(void* block);
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CrashOnForeignFree(
      const void* block) const;

  // Read-mostly.
  const std::string name_;
  // The overflow pool's tag, "zonealloc-overflow:<name>": Stats() copies it
  // without the lock that guards overflow_.
  const std::string overflow_tag_;
  const bool debug_checks_;
  const size_t extension_blocks_;
  const size_t extension_growth_percent_;
  const uint32_t prefault_chunk_blocks_;
  // Fresh blocks below this index were prefaulted (or skipped past by a
  // take that jumped ahead), or belong to the initial segment; kNoPrefault
  // in a debug-checked zone (it fills its blocks when it commits them) and
  // once the page source said it cannot prefault. Written once a chunk.
  std::atomic<uint32_t> prefaulted_end_;
  const size_t alignment_;
  ZoneService& service_;
  PageSource& pages_;
  internal::BlockRegion region_;
  // cache_ is in kRseq mode: the one test on the fast path.
  const bool rseq_cache_;
  void* const cache_memory_;
  const size_t cache_bytes_;
  // In the zone itself, not behind a pointer: one dependent load fewer on
  // every Allocate() and Free(). Empty: kOff.
  std::optional<PerCpuCache> cache_;

  SharedZone shared_;
  mutable std::atomic<int64_t> peak_in_use_{0};  // Stats() raises it too
  std::atomic<int64_t> overflow_in_use_{0};  // mirrors overflow_, for the peak

  // Written when the zone goes from full to not full, or by idle scans.
  alignas(kCacheLineSize) std::atomic<uint64_t> not_full_epoch_{0};
  std::atomic<bool> has_spare_{false};
  std::atomic<int64_t> next_idle_scan_ns_{0};
  std::atomic<int64_t> next_peak_sample_ns_{0};

  // The slow path.
  mutable SpinLock slow_lock_;
  OverflowPool overflow_ ABSL_GUARDED_BY(slow_lock_);
  ExtensionPolicy policy_ ABSL_GUARDED_BY(slow_lock_);
  size_t extensions_ ABSL_GUARDED_BY(slow_lock_) = 0;
  size_t extension_refusals_ ABSL_GUARDED_BY(slow_lock_) = 0;
  size_t allocation_failures_ ABSL_GUARDED_BY(slow_lock_) = 0;
  size_t slow_path_entries_ ABSL_GUARDED_BY(slow_lock_) = 0;
  // Per CPU: misses + flushes and the cached count at the last idle scan.
  struct CpuActivity {
    uint64_t misses_and_flushes = 0;
    uint32_t blocks = 0;
    bool operator==(const CpuActivity&) const = default;
  };
  std::vector<CpuActivity> activity_at_last_scan_ ABSL_GUARDED_BY(slow_lock_);
  // One CPU's whole cache (max_capacity blocks), so that a drain, under
  // the spinlock, allocates nothing; sized once, not as the bound rises.
  std::unique_ptr<void*[]> drain_buffer_ ABSL_GUARDED_BY(slow_lock_);
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_H_
