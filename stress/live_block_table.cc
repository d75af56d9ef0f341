// SPDX-License-Identifier: Apache-2.0
#include "stress/live_block_table.h"

namespace zonealloc::stress {

std::optional<BlockStamp> LiveBlockTable::Insert(const void* block, const BlockStamp& stamp) {
  const auto address = reinterpret_cast<uintptr_t>(block);
  Shard& shard = shards_[ShardIndex(address)];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto [it, inserted] = shard.blocks.try_emplace(address, stamp);
  if (inserted) return std::nullopt;
  return it->second;
}

std::optional<BlockStamp> LiveBlockTable::Erase(const void* block) {
  const auto address = reinterpret_cast<uintptr_t>(block);
  Shard& shard = shards_[ShardIndex(address)];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.blocks.find(address);
  if (it == shard.blocks.end()) return std::nullopt;
  const BlockStamp stamp = it->second;
  shard.blocks.erase(it);
  return stamp;
}

size_t LiveBlockTable::Size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.blocks.size();
  }
  return total;
}

}  // namespace zonealloc::stress
