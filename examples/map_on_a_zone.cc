// SPDX-License-Identifier: Apache-2.0
// A std::map whose nodes are blocks of a zone: ZoneAllocator routes each
// node to the zone, and the zone's Stats() show it served them. The zone's
// blocks must hold the map's node, which is bigger than its value; the
// NodeBlockSize helper sizes them.

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include <zonealloc/zone.h>
#include <zonealloc/zone_allocator.h>

using Value = std::pair<const int, double>;
using PriceMap = std::map<int, double, std::less<int>, zonealloc::ZoneAllocator<Value>>;

int main() {
  auto zone = zonealloc::Zone::Create(
      {.name = "prices", .block_size = zonealloc::NodeBlockSize<Value>(), .initial_blocks = 1024});
  if (!zone.ok()) {
    std::fprintf(stderr, "map_on_a_zone: %s\n", zone.status().ToString().c_str());
    return 1;
  }
  {
    PriceMap prices{zonealloc::ZoneAllocator<Value>(**zone)};
    for (int id = 0; id < 10'000; ++id) prices.emplace(id, id * 0.25);

    const zonealloc::ZoneStats stats = (*zone)->Stats();
    std::printf("map of %zu entries; zone '%s' (%zu-byte blocks) serves %zu nodes\n",
                prices.size(), stats.name.c_str(), stats.block_size, stats.in_use_blocks);
    if (stats.in_use_blocks != prices.size()) {
      std::fprintf(stderr, "map_on_a_zone: nodes did not all come from the zone\n");
      return 1;
    }
  }  // the map gives its nodes back to the zone
  std::printf("after the map: %zu blocks in use\n", (*zone)->Stats().in_use_blocks);
  return 0;
}
