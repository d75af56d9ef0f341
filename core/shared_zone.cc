// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/shared_zone.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <zonealloc/internal/checks.h>
#include <zonealloc/internal/crash_format.h>

namespace zonealloc {
namespace {

// Nodes a batch of `batch_blocks` needs to list its other blocks,
// `words_per_node` to a node: at least 1.
uint32_t NodesPerBatch(uint32_t batch_blocks, uint32_t words_per_node) {
  return std::max<uint32_t>(1, (batch_blocks - 1 + words_per_node - 1) / words_per_node);
}

}  // namespace

SharedZone::SharedZone(const internal::BlockRegion& region, uint32_t batch_blocks,
                       bool use_batches)
    : region_(region),
      batch_blocks_(batch_blocks),
      words_per_node_(static_cast<uint32_t>(
          std::min<size_t>(region.block_size() / sizeof(uint32_t), kMaxBatchBlocks + 1))),
      nodes_per_batch_(NodesPerBatch(batch_blocks, words_per_node_)),
      // Node 0 has room for the others' indices (see WriteBatch).
      directory_(nodes_per_batch_ - 1 <= words_per_node_),
      use_batches_(use_batches),
      slots_(region.batch_slots()),
      // A group as large as a batch, so that a batch of consecutive blocks
      // (a fresh range's, freed in order) mostly has a group to itself.
      slot_shift_(static_cast<int>(std::bit_width(std::max<size_t>(
                      batch_blocks, internal::BlockRegion::kBlocksPerBatchSlot))) - 1),
      free_list_(region.links()),
      batches_(region.batch_slots()) {}

uint32_t SharedZone::PopBatch(void** out) {
  const uint32_t slot = batches_.Pop();
  if (slot == kNoIndex) return 0;
  // relaxed: the pop's acquire ordered the push that published the slot,
  // and the claim before it.
  const uint32_t head = slots_[slot + 1].load(std::memory_order_relaxed) - 1;
  // release: pairs with ClaimSlot()'s acquire, so the next owner's writes
  // to the slot follow this pop's reads of it.
  slots_[slot + 1].store(kFreeSlot, std::memory_order_release);
  return ReadBatch(head, out);
}

uint32_t SharedZone::ClaimSlot(void* const* batch) {
  const uint32_t head = region_.IndexOf(batch[0]);
  uint32_t last_tried = kNoIndex;
  int tried = 0;
  for (uint32_t k = 0; k < batch_blocks_ && tried < kSlotsTried; ++k) {
    const uint32_t slot = 2 * (region_.IndexOf(batch[k]) >> slot_shift_);
    if (slot == last_tried) continue;  // neighbouring blocks share a group
    last_tried = slot;
    ++tried;
    std::atomic<uint32_t>& owner = slots_[slot + 1];
    uint32_t expected = kFreeSlot;
    // relaxed load: a hint that skips a locked instruction on a taken slot.
    // acquire: pairs with PopBatch()'s release of the slot.
    if (owner.load(std::memory_order_relaxed) == kFreeSlot &&
        owner.compare_exchange_strong(expected, head + 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return slot;
    }
  }
  return kNoIndex;
}

uint32_t SharedZone::Take(void** out, uint32_t max, bool* refilled_empty) {
  uint32_t n = 0;
  while (use_batches_ && max - n >= batch_blocks_) {
    const uint32_t taken = PopBatch(out + n);
    if (taken == 0) break;
    n += taken;
  }
  while (n < max) {
    const uint32_t index = free_list_.Pop();
    if (index == kNoIndex) break;
    out[n++] = region_.BlockAt(index);
  }
  if (use_batches_ && n < max) {  // still short: break up a batch
    void* batch[kMaxBatchBlocks];
    if (const uint32_t taken = PopBatch(batch); taken > 0) {
      const uint32_t used = std::min(taken, max - n);
      std::copy(batch, batch + used, out + n);
      n += used;
      *refilled_empty = Push(batch + used, taken - used);
    }
  }
  if (n < max) n += TakeFresh(out + n, max - n);  // recycled blocks first
  if (n > 0) CountOut(n);
  return n;
}

uint32_t SharedZone::TakeFresh(void** out, uint32_t max) {
  // acquire: pairs with AddFresh(), which follows the segment's commit.
  uint64_t range = fresh_->load(std::memory_order_acquire);
  uint32_t next;
  uint32_t n;
  do {
    next = static_cast<uint32_t>(range);
    n = std::min(max, static_cast<uint32_t>(range >> 32) - next);
    if (n == 0) return 0;
    // acquire: as the load. next + n <= end, so the low half never carries.
  } while (!fresh_->compare_exchange_weak(range, range + n, std::memory_order_acquire,
                                          std::memory_order_acquire));
  for (uint32_t k = 0; k < n; ++k) out[k] = region_.BlockAt(next + k);
  return n;
}

void* SharedZone::PopFresh(int64_t* blocks_out) {
  void* block;
  if (TakeFresh(&block, 1) == 0) return nullptr;
  *blocks_out = CountOut(1);
  return block;
}

void SharedZone::AddFresh(uint32_t first, uint32_t n) {
  // seq_cst: published as a push would be (see Empty()).
  const uint64_t old = fresh_->exchange(uint64_t{first} | (uint64_t{first + n} << 32));
  if (static_cast<uint32_t>(old >> 32) != static_cast<uint32_t>(old)) {
    internal::CrashFormat("a new segment at block %d replaced %d fresh blocks", first,
                          static_cast<uint32_t>(old >> 32) - static_cast<uint32_t>(old));
  }
}

bool SharedZone::Put(void* const* blocks, size_t n) {
  if (n == 0) return false;
  CountOut(-static_cast<int64_t>(n));
  return Push(blocks, n);
}

bool SharedZone::Push(void* const* blocks, size_t n) {
  std::atomic<uint32_t>* links = region_.links();
  bool was_empty = false;
  for (size_t start = 0; start < n; start += batch_blocks_) {
    const size_t count = std::min<size_t>(batch_blocks_, n - start);
    const uint32_t slot =
        use_batches_ && count == batch_blocks_ ? ClaimSlot(blocks + start) : kNoIndex;
    if (slot != kNoIndex) {
      WriteBatch(blocks + start);
      was_empty |= batches_.Push(slot);
      continue;
    }
    const uint32_t first = region_.IndexOf(blocks[start]);
    uint32_t previous = first;
    for (size_t k = 1; k < count; ++k) {
      const uint32_t index = region_.IndexOf(blocks[start + k]);
      // relaxed: published by the release CAS of the push below.
      links[previous].store(index, std::memory_order_relaxed);
      previous = index;
    }
    was_empty |= free_list_.PushChain(first, previous);
  }
  return was_empty;
}

void SharedZone::StoreIndices(void* node, void* const* blocks, uint32_t n) const {
  const internal::BlockIndexing indexing = region_.indexing();
  internal::UnpoisonBlock(node, indexing.block_size);
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t index = indexing.IndexOf(blocks[k]);
    std::memcpy(static_cast<char*>(node) + k * sizeof(index), &index, sizeof(index));
  }
  internal::PoisonFreeBlock(node, indexing.block_size);
}

void SharedZone::LoadBlocks(const void* node, void** blocks, uint32_t n) const {
  const internal::BlockIndexing indexing = region_.indexing();
  internal::UnpoisonBlock(node, indexing.block_size);
  for (uint32_t k = 0; k < n; ++k) {
    uint32_t index;
    std::memcpy(&index, static_cast<const char*>(node) + k * sizeof(index), sizeof(index));
    blocks[k] = indexing.BlockAt(index);
  }
  internal::PoisonFreeBlock(node, indexing.block_size);
}

// A batch lists its blocks inside some of them, its "nodes": node j holds
// the indices of batch[1 + j*w, 1 + (j+1)*w), w = words_per_node_, as many
// as are left, so the reader gets the blocks back in the order they were
// written. Where node j is depends on whether node 0 has room to name the
// other nodes:
//   directory  node j is batch[j], so node 0's first entries name them all:
//              a reader misses on node 0, then on all the others at once
//              (it prefetches them).
//   chain      node j is batch[j*w], named by the last entry of node j-1:
//              a reader misses on one node after another. Only where node 0
//              is too small for the directory (blocks under 48 bytes with
//              the default batches).
// Either way a reader misses once per w indices (a node's first bytes)
// rather than once per block, which matters because it usually runs on
// another CPU than the writer. The blocks are free and the shared zone's,
// so writing into them races with nothing; the push's release and the
// pop's acquire order the contents. Blocks on the stacks are free for a
// memory checker (ASan: poisoned; memcheck: no access; the caller marks
// them before Put()), so the writer and the reader open a node around their
// access only (internal/memcheck_hooks.h).
void SharedZone::WriteBatch(void* const* batch) {
  for (uint32_t node = 0; node < nodes_per_batch_; ++node) {
    const uint32_t first = 1 + node * words_per_node_;
    StoreIndices(batch[NodePosition(node)], batch + first,
                 std::min(words_per_node_, batch_blocks_ - first));
  }
}

uint32_t SharedZone::ReadBatch(uint32_t head, void** out) const {
  out[0] = region_.BlockAt(head);
  for (uint32_t node = 0; node < nodes_per_batch_; ++node) {
    const uint32_t first = 1 + node * words_per_node_;
    LoadBlocks(out[NodePosition(node)], out + first,
               std::min(words_per_node_, batch_blocks_ - first));
    if (directory_ && node == 0) {  // out[1, nodes) are known now
      for (uint32_t k = 1; k < nodes_per_batch_; ++k) __builtin_prefetch(out[k]);
    }
  }
  return batch_blocks_;
}

}  // namespace zonealloc
