// SPDX-License-Identifier: Apache-2.0
#include "zone_check.h"

#include <cstdio>
#include <memory>

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
  return true;
}
