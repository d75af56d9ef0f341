// ZoneStats is a snapshot of one zone's counters. Taken while other threads
// allocate and free, each field is exact on its own but the fields need not
// be from the same instant.

#ifndef ZONEALLOC_CORE_ZONE_STATS_H_
#define ZONEALLOC_CORE_ZONE_STATS_H_

#include <cstddef>
#include <string>

namespace zonealloc {

struct ZoneStats {
  std::string name;
  size_t block_size = 0;          // after rounding
  size_t capacity_blocks = 0;     // permanent blocks committed
  size_t in_use_blocks = 0;       // handed out and not yet freed
  size_t peak_in_use_blocks = 0;  // highest in_use_blocks seen
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_STATS_H_
