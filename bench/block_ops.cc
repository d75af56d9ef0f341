// SPDX-License-Identifier: Apache-2.0
#include "bench/block_ops.h"

namespace zonealloc::bench {

void BlockTally::Add(const BlockTally& other) {
  allocations += other.allocations;
  frees += other.frees;
  failed_allocations += other.failed_allocations;
  corrupted_blocks += other.corrupted_blocks;
}

BlockOps::BlockOps(int thread_index, const TickClock& clock)
    : clock_(clock), last_stamp_(static_cast<uint64_t>(thread_index + 1) << 48) {}

}  // namespace zonealloc::bench
