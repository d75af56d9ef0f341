// SPDX-License-Identifier: Apache-2.0
// ZoneStats is a snapshot of one zone's counters. Each counter is read on its
// own, so while other threads allocate and free the fields need not be from
// the same instant, and in_use_blocks, computed from two counters read one
// after the other, can be off by the blocks those threads moved in between.
// Once every thread is quiet, the figures are exact, but for the peak with
// CPU caches (see peak_in_use_blocks).

#ifndef ZONEALLOC_CORE_ZONE_STATS_H_
#define ZONEALLOC_CORE_ZONE_STATS_H_

#include <cstddef>
#include <string>
#include <vector>

#include <zonealloc/concurrency/percpu_cache.h>

namespace zonealloc {

struct ZoneStats {
  std::string name;
  std::string tag;                // names the zone's overflow memory
  size_t block_size = 0;          // after rounding
  size_t capacity_blocks = 0;     // permanent blocks committed
  // Handed out and not yet freed, overflow included: blocks out of the
  // shared zone, less those in CPU caches, plus overflow blocks in use.
  size_t in_use_blocks = 0;
  // The highest in_use_blocks seen. Without CPU caches, tracked on every
  // allocation: exact. With them, sampled at a cache miss or flush at most
  // once a millisecond (a scheduler tick, where that is longer), whenever
  // the zone runs full (at the end of the slow path's overflow or
  // extension, counting the CPU caches as it read them on entry, or as
  // empty after its drain), at Drain() and at Stats(). So it is approximate
  // there: a peak reached and left between samples is missed, and a sample
  // taken while other threads move blocks between a CPU cache and the
  // shared zone counts those in flight as in use (at most a batch per
  // thread, or one CPU's cache that a drain is returning).
  size_t peak_in_use_blocks = 0;
  // Allocate() calls that returned nullptr, and AllocateBulk() calls that
  // filled fewer blocks than asked (one each): past every cap, or the page
  // source failed.
  size_t allocation_failures = 0;

  // Temporary overflow (ExAllocatePoolWithTag / ExFreePool).
  size_t overflow_blocks_in_use = 0;
  size_t overflow_allocations = 0;  // ever
  size_t overflow_slabs_live = 0;   // mapped now, the spare and unreleased ones included
  size_t overflow_slabs_created = 0;
  size_t overflow_slabs_released = 0;  // unmapped: the system took them back
  size_t overflow_mapped_bytes = 0;    // bytes of the live slabs (slabs grow with demand)
  // Empty slabs the system refused to unmap (e.g. ENOMEM at vm.max_map_count):
  // still mapped, reused first, their release retried.
  size_t overflow_slabs_unreleased = 0;
  size_t overflow_unmap_failures = 0;  // refused unmaps, retries included

  // The slow path: Allocate() calls that found this CPU's cache and the
  // shared zone empty and took the slow-path lock (an AllocateBulk() takes
  // it once per up to 256 blocks it still lacks, and again before a second
  // new overflow slab or extension), and the CPU caches it
  // (or Drain(), or an idle scan) emptied back into the shared zone.
  size_t slow_path_entries = 0;
  size_t cache_drains = 0;

  // Permanent extension (ExExtendZone).
  size_t extensions = 0;
  // Extensions the rule wanted, refused by max_blocks or the budget, or
  // whose commit failed (each is tried again for the next block).
  size_t extension_refusals = 0;
  size_t permanent_bytes = 0;     // blocks, links and batch slots charged to the budget

  // The per-CPU cache front end.
  std::string cpu_cache_mode;              // "rseq", "fallback" or "off"
  size_t cached_blocks = 0;                // free blocks sitting in CPU caches
  // The most all CPUs' caches together may hold now: max(capacity - CPUs x
  // cpu_cache_batch_blocks, half the capacity, CPUs x cpu_cache_blocks)
  // (see ZoneOptions::cpu_cache_max_blocks); 0 when off. Raised by
  // extensions, never lowered.
  size_t cpu_cache_bound_blocks = 0;
  std::vector<CpuCacheStats> cpu_caches;   // indexed by CPU; empty when off
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_STATS_H_
