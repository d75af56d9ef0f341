// SPDX-License-Identifier: Apache-2.0
// LiveBlockTable is the stress tool's side table of every block it holds,
// keyed by address, with the stamp written at allocation. It exists because a
// stamp inside the block alone cannot prove a block was handed out twice:
// the second owner overwrites the first one's stamp. The table is outside
// the blocks, so a hand-out of an address that is still live fails its
// Insert() and names both owners. Blocks leave the table before they go
// back to the zone (a block is reused only after it was freed), so a later
// legitimate reuse of the address finds no entry.
//
// Sharded by address, each shard behind its own mutex, so checking does not
// serialize the workers.

#ifndef ZONEALLOC_STRESS_LIVE_BLOCK_TABLE_H_
#define ZONEALLOC_STRESS_LIVE_BLOCK_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "stress/block_stamp.h"

namespace zonealloc::stress {

class LiveBlockTable {
 public:
  // Records `block` as live with `stamp`. If it already is live, changes
  // nothing and returns the stamp of its current owner.
  std::optional<BlockStamp> Insert(const void* block, const BlockStamp& stamp);

  // Removes `block` and returns the stamp it was recorded with, or nullopt
  // when it is not live.
  std::optional<BlockStamp> Erase(const void* block);

  // Live blocks now; exact only while no worker runs.
  size_t Size() const;

 private:
  static constexpr size_t kShards = 256;
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<uintptr_t, BlockStamp> blocks;
  };
  static size_t ShardIndex(uintptr_t address) { return (address >> 5) * 0x9E3779B1u >> 8 & (kShards - 1); }

  std::array<Shard, kShards> shards_;
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_LIVE_BLOCK_TABLE_H_
