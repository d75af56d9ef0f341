// SPDX-License-Identifier: Apache-2.0
// SharedZone is a Zone's middle tier: the permanent blocks no CPU cache
// holds, behind a narrow interface (take up to n, put n back), as
// tcmalloc's transfer cache sits between its CPU caches and its central
// lists. Zone composes it with the CPU caches in front and the slow path
// (overflow, extension) behind.
//
// Free blocks sit on two lock-free, ABA-safe stacks (TaggedIndexStack):
//   batches_    whole batches of batch_blocks() blocks, so a CPU cache's
//               refill is one CAS and its flush two (claim a slot, push).
//               A batch lists its blocks inside a few of them (see
//               WriteBatch in shared_zone.cc).
//   free_list_  single blocks: the path without caches, remainders, and
//               batches that found no free slot.
// Blocks of a new segment are on neither: fresh_ is the range of them no
// one has taken yet, taken from the front in address order, after every
// recycled block, and never written by the zone (but a debug-checked Zone
// fills them with its freed pattern first). So an extension (or a large
// initial segment) costs no writes into its blocks: their pages are first
// touched by the thread that uses them, outside the zone's locks.
// free_list_ links its blocks through the region's per-block links.
// batches_ holds batch slots instead (the region's batch_slots(), one per
// group of 2^slot_shift_ >= 8 blocks): a pushed batch claims the free slot
// of a group it has a block in (ClaimSlot tries a few) and records its
// first block there. A slot's holder has a block in its group, so where
// batch_blocks is a power of two >= 8, a batch that is exactly one group
// always finds that group's slot free. Whole batches touch a slot (8
// bytes) each and no per-block link (4 MiB of links for a million blocks, all of
// it touched before); remainders and batches that found no free slot still
// write links. A popper that reads a link its entry's new owner just
// rewrote fails its CAS on the tag, as always in those stacks.
//
// In AddressSanitizer builds the blocks on the stacks are poisoned: callers
// poison a block before they put it here and unpoison it once taken (see
// internal/checks.h); the batch lists inside free blocks are read and
// written with the node unpoisoned around the access.
//
// Thread-safe: every call may run concurrently with any other, and with
// BlockRegion::Grow() (the blocks of a new segment arrive through
// AddFresh()).

#ifndef ZONEALLOC_CORE_SHARED_ZONE_H_
#define ZONEALLOC_CORE_SHARED_ZONE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/concurrency/tagged_index_stack.h>
#include <zonealloc/internal/block_region.h>

namespace zonealloc {

class SharedZone {
 public:
  // REQUIRES: `region` outlives this; 1 <= batch_blocks <= kMaxBatchBlocks.
  // (A block holds two indices or more: BlockRegion's are 8 bytes and up.)
  // Without batches every block goes to the single-block stack.
  SharedZone(const internal::BlockRegion& region, uint32_t batch_blocks, bool use_batches);

  SharedZone(const SharedZone&) = delete;
  SharedZone& operator=(const SharedZone&) = delete;

  static constexpr uint32_t kMaxBatchBlocks = 256;

  // One block from the single-block stack, else from the fresh range;
  // nullptr when both are empty (the batches are left alone: this is the
  // path of zones without caches, which have none). *blocks_out is the
  // count of blocks out after this one.
  void* PopOne(int64_t* blocks_out) {
    const uint32_t index = free_list_.Pop();
    if (ABSL_PREDICT_FALSE(index == kNoIndex)) return PopFresh(blocks_out);
    *blocks_out = CountOut(1);
    return region_.BlockAt(index);
  }

  // Puts one block back. True when the single-block stack was empty.
  // REQUIRES: block is one of the region's and was taken from here.
  bool PushOne(void* block) {
    CountOut(-1);
    return free_list_.Push(region_.IndexOf(block));
  }

  // Moves up to `max` blocks into out[0, n) and returns n: whole batches
  // while max allows, then single blocks, then part of a batch (the rest
  // goes back; *refilled_empty is set if that push found a stack empty),
  // then fresh blocks, last, in ascending address order.
  uint32_t Take(void** out, uint32_t max, bool* refilled_empty);

  // Puts blocks[0, n) back, full batches onto batches_ (where they find a
  // free slot) and the rest as singles. True when a stack was empty before: the zone may have gone
  // from full to not full. REQUIRES: each was taken from here.
  bool Put(void* const* blocks, size_t n);

  // Hands over blocks [first, first + n) of a new segment, never taken, as
  // the fresh range. REQUIRES: calls are serialized (the zone's slow-path
  // lock), and the previous fresh range is used up (the zone was full).
  void AddFresh(uint32_t first, uint32_t n);

  // Counts n blocks as taken without a stack: an extension hands one out
  // directly. Returns the blocks out after.
  int64_t CountOut(int64_t n) {
    // relaxed: a statistic; the stacks order the blocks themselves.
    return blocks_out_->fetch_add(n, std::memory_order_relaxed) + n;
  }

  // Both stacks and the fresh range empty right now; racy, a hint (see
  // Zone's protocols). Pushes and AddFresh() are seq_cst, so a seq_cst
  // Empty() is ordered against them.
  bool Empty(std::memory_order order = std::memory_order_relaxed) const {
    return free_list_.Empty(order) && batches_.Empty(order) && FreshLeft(order) == 0;
  }

  // Blocks taken and not put back: in use, or held by CPU caches.
  int64_t blocks_out() const {
    // relaxed: a statistic.
    return blocks_out_->load(std::memory_order_relaxed);
  }
  uint32_t batch_blocks() const { return batch_blocks_; }

 private:
  bool Push(void* const* blocks, size_t n);
  // Claims a free slot of a group batch[0, batch_blocks_) has blocks in,
  // trying one group per run of its blocks in the same group, kSlotsTried
  // at most, notes batch[0] in it and returns
  // its index on batches_; kNoIndex when those slots are all taken.
  uint32_t ClaimSlot(void* const* batch);
  void WriteBatch(void* const* batch);
  uint32_t ReadBatch(uint32_t head, void** out) const;
  // Writes the indices of blocks[0, n) into the first words of a free
  // block (a batch's node), or reads them back as blocks.
  void StoreIndices(void* node, void* const* blocks, uint32_t n) const;
  void LoadBlocks(const void* node, void** blocks, uint32_t n) const;
  // Where a batch's node `node` is among its blocks (see WriteBatch).
  uint32_t NodePosition(uint32_t node) const { return directory_ ? node : node * words_per_node_; }
  uint32_t PopBatch(void** out);
  // Up to `max` blocks from the front of the fresh range; the count.
  uint32_t TakeFresh(void** out, uint32_t max);
  ABSL_ATTRIBUTE_NOINLINE void* PopFresh(int64_t* blocks_out);
  uint32_t FreshLeft(std::memory_order order) const {
    const uint64_t range = fresh_->load(order);
    return static_cast<uint32_t>(range >> 32) - static_cast<uint32_t>(range);
  }

  const internal::BlockRegion& region_;
  const uint32_t batch_blocks_;
  const uint32_t words_per_node_;   // block indices one block can hold in a batch
  const uint32_t nodes_per_batch_;  // blocks of a batch that list the others
  const bool directory_;            // the layout (see WriteBatch): directory, else chain
  const bool use_batches_;
  // Batch slot g is slots_[2g], its link on batches_, and slots_[2g + 1],
  // the index + 1 of the first block of the batch it holds, or kFreeSlot.
  // Its group is the blocks whose index >> slot_shift_ is g.
  static constexpr uint32_t kFreeSlot = 0;
  // Groups a flush tries before its batch goes on as singles: a bound on
  // the cache lines it reads when slots are scarce.
  static constexpr int kSlotsTried = 8;
  std::atomic<uint32_t>* const slots_;
  const int slot_shift_;
  // Each word owns its cache line.
  alignas(kCacheLineSize) TaggedIndexStack<> free_list_;
  alignas(kCacheLineSize) TaggedIndexStack<> batches_;
  CacheAligned<std::atomic<int64_t>> blocks_out_{0};
  // The fresh range [next, end) of block indices, next in the low half and
  // end in the high half of one word, so one CAS takes from it.
  CacheAligned<std::atomic<uint64_t>> fresh_{0};
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_SHARED_ZONE_H_
