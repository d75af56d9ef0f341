// ZoneStats is a snapshot of one zone's counters. Taken while other threads
// allocate and free, each field is exact on its own but the fields need not
// be from the same instant.

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
  size_t in_use_blocks = 0;       // handed out and not yet freed, overflow included
  size_t peak_in_use_blocks = 0;  // highest in_use_blocks seen (see Zone::Stats)

  // Temporary overflow (ExAllocatePoolWithTag / ExFreePool).
  size_t overflow_blocks_in_use = 0;
  size_t overflow_allocations = 0;  // ever
  size_t overflow_slabs_live = 0;   // mapped now, a spare included
  size_t overflow_slabs_created = 0;
  size_t overflow_slabs_released = 0;

  // Permanent extension (ExExtendZone).
  size_t extensions = 0;
  size_t extension_refusals = 0;  // wanted, but past max_blocks or the budget
  size_t permanent_bytes = 0;     // blocks and links charged to the budget

  // The per-CPU cache front end.
  std::string cpu_cache_mode;              // "rseq", "fallback" or "off"
  size_t cached_blocks = 0;                // free blocks sitting in CPU caches
  std::vector<CpuCacheStats> cpu_caches;   // indexed by CPU; empty when off
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_STATS_H_
