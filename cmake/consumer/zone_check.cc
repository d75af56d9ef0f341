// SPDX-License-Identifier: Apache-2.0
#include "zone_check.h"

#include <cstdio>
#include <memory>

#include <zonealloc/object_zone.h>
#include <zonealloc/zone.h>

bool AllocateAndFreeOneBlock() {
  absl::StatusOr<std::unique_ptr<zonealloc::Zone>> zone =
      zonealloc::Zone::Create({.name = "consumer", .block_size = 64, .initial_blocks = 16});
  if (!zone.ok()) {
    std::fprintf(stderr, "Zone::Create: %s\n", zone.status().ToString().c_str());
    return false;
  }
  void* block = (*zone)->Allocate();
  if (block == nullptr) {
    std::fprintf(stderr, "Allocate returned nullptr\n");
    return false;
  }
  const size_t in_use = (*zone)->Stats().in_use_blocks;
  (*zone)->Free(block);
  (*zone)->Drain();
  const size_t after = (*zone)->Stats().in_use_blocks;
  if (in_use != 1 || after != 0) {
    std::fprintf(stderr, "in_use_blocks: %zu after Allocate (want 1), %zu after Free (want 0)\n",
                 in_use, after);
    return false;
  }
  std::printf("allocated and freed one %zu-byte block\n", (*zone)->Stats().block_size);

  // The inline templates link too: ObjectZone's Create and New.
  struct Pair {
    int first;
    int second;
  };
  auto pairs = zonealloc::ObjectZone<Pair>::Create({.name = "consumer-pairs"});
  if (!pairs.ok()) {
    std::fprintf(stderr, "ObjectZone::Create: %s\n", pairs.status().ToString().c_str());
    return false;
  }
  auto pair = pairs->MakeUnique(Pair{1, 2});
  if (pair == nullptr || pair->second != 2) {
    std::fprintf(stderr, "ObjectZone::MakeUnique failed\n");
    return false;
  }
  if (zonealloc::ObjectZone<Pair>::Create({.name = "too-small", .block_size = 4}).ok()) {
    std::fprintf(stderr, "ObjectZone::Create accepted a block_size below sizeof(T)\n");
    return false;
  }
  return true;
}
