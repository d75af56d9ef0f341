// SPDX-License-Identifier: Apache-2.0
// BlockRegion holds a zone's permanent blocks: one virtual address range,
// reserved at creation for the zone's largest size (max_blocks), of which a
// prefix is committed: the initial segment, then each permanent extension.
//
// Why one reservation: the region never moves and is never unmapped while the
// zone lives, so Contains() is one range compare and one multiply, an index
// maps to a block by one multiply, and a thread may read a block's free-list
// link at any time, even just after another thread took the block (see
// TaggedIndexStack).
//
// Layout of the reservation (each part page aligned):
//   [links: max_blocks x std::atomic<uint32_t>]
//   [batch slots: ceil(max_blocks / 8) x 2 std::atomic<uint32_t>]
//   [blocks: max_blocks x block_size]
// links[i] is block i's link on the shared zone's single-block stack, or its
// debug-check state while it is off the stacks. The batch slots are the
// shared zone's handles for whole batches, at most one per 8 blocks (see
// SharedZone::ClaimSlot). Zones without CPU caches and UnsynchronizedZone
// have no batches: their slot pages are committed and charged but never
// touched, so they cost no RSS. Links and slots live beside the blocks, not in them, so
// user writes into a block never race with a free-list reader. Pages of
// either are first touched when a block or batch uses them: a zone whose
// blocks move in batches never touches most of its links.
//
// Thread safety: Grow() needs external synchronization (the zone's slow-path
// lock). Everything else may run concurrently with Grow().

#ifndef ZONEALLOC_CORE_INTERNAL_BLOCK_REGION_H_
#define ZONEALLOC_CORE_INTERNAL_BLOCK_REGION_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/base/optimization.h"
#include "absl/status/statusor.h"
#include <zonealloc/page_source.h>

namespace zonealloc::internal {

// Bounds that keep the index arithmetic exact: offsets within a region are
// below 2^40 and blocks at most 2^24 bytes, so offset * block_size < 2^64
// (see IndexOf), and indices fit the 32-bit free-list index.
inline constexpr size_t kMaxBlockSize = size_t{1} << 24;        // 16 MiB
inline constexpr size_t kMaxRegionBytes = size_t{1} << 40;      // 1 TiB
inline constexpr size_t kMaxBlocks = (size_t{1} << 32) - 3;     // < kNoIndex and markers

// Division of 64-bit values by a fixed d = m * 2^k (m odd) without a divide
// instruction (Hacker's Delight, 10-17): q = rotr(n * inverse(m) mod 2^64, k)
// is n / d exactly when d divides n, and above (2^64 - 1) / d otherwise. So
// one multiply and one compare, q < count, ask both "is n a multiple of d"
// and "is n / d below count" (for any count <= (2^64 - 1) / d + 1), where a
// reciprocal needs a 128-bit multiply and a check multiplies back.
struct ExactDivisor {
  static ExactDivisor For(uint64_t d);  // REQUIRES: d > 0

  // n / d when d divides n; above max_quotient when it does not.
  uint64_t QuotientOrAboveMax(uint64_t n) const { return std::rotr(n * odd_inverse, shift); }
  bool Divides(uint64_t n) const { return QuotientOrAboveMax(n) <= max_quotient; }

  uint64_t odd_inverse;   // m * odd_inverse == 1 mod 2^64
  int shift;              // k
  uint64_t max_quotient;  // (2^64 - 1) / d
};

// Maps a region's block addresses to their indices and back. A value type
// so that a loop can copy it: SharedZone's batch writer stores through char
// pointers, which may alias anything, so BlockRegion's fields would be
// reloaded after every store; a local copy's stay in registers.
struct BlockIndexing {
  void* BlockAt(uint32_t index) const {
    return reinterpret_cast<void*>(begin + size_t{index} * block_size);
  }
  // n / block_size for the block at p's offset n; above any index when p is
  // not the start of a block (see ExactDivisor).
  uint64_t QuotientOrAboveMax(const void* p) const {
    return divisor.QuotientOrAboveMax(reinterpret_cast<uintptr_t>(p) - begin);
  }
  // REQUIRES: p is the start of a block.
  uint32_t IndexOf(const void* p) const { return static_cast<uint32_t>(QuotientOrAboveMax(p)); }

  uintptr_t begin;  // block 0
  size_t block_size;
  ExactDivisor divisor;  // by block_size
};

class BlockRegion {
 public:
  // Reserves room for `max_blocks` and commits the first `initial_blocks`.
  // REQUIRES: block_size a multiple of 8 in [8, kMaxBlockSize],
  // 0 < initial_blocks <= max_blocks <= kMaxBlocks,
  // max_blocks * block_size <= kMaxRegionBytes.
  // ResourceExhausted naming the zone when the page source fails.
  static absl::StatusOr<BlockRegion> Create(PageSource& pages, std::string_view zone_name,
                                            size_t block_size, size_t initial_blocks,
                                            size_t max_blocks);

  BlockRegion(BlockRegion&& other) noexcept;
  BlockRegion& operator=(BlockRegion&&) = delete;
  // Unmaps the reservation unless Unmap() or Abandon() did; reports on
  // stderr when the page source refuses.
  ~BlockRegion();

  // Unmaps the reservation now (blocks, links and batch slots), for an
  // owner that refunds their budget only once they are gone. False, with
  // errno, when the page source refuses.
  // REQUIRES: nothing reads or writes the region afterwards.
  bool Unmap();
  // Leaves the reservation mapped for good: the destructor does not try to
  // unmap it. For an owner that keeps it charged after a refused Unmap().
  void Abandon() { reservation_ = nullptr; }

  // Commits `blocks` more blocks after the committed ones. False, changing
  // nothing, when that would pass max_blocks or the page source fails.
  // REQUIRES: callers of Grow() are serialized.
  bool Grow(size_t blocks);

  // Asks the page source to make the pages of blocks [first, first + n)
  // resident now (PageSource::Prefault); false, with errno, when it
  // declines. True for n == 0. REQUIRES: the blocks are committed.
  bool Prefault(size_t first, size_t n) const;

  size_t block_size() const { return indexing_.block_size; }
  size_t max_blocks() const { return max_blocks_; }
  size_t committed_blocks() const {
    // acquire: pairs with Grow()'s release, so the committed pages are usable.
    return committed_blocks_.load(std::memory_order_acquire);
  }

  // True when p is the start of a committed block. One compare: a pointer
  // between blocks, or below the region (its offset wraps around), has a
  // quotient above max_quotient, past any block count (kMaxRegionBytes
  // keeps committed blocks * block_size below 2^64).
  bool Contains(const void* p) const {
    // relaxed: a pointer in a new segment reaches a caller only through the
    // shared zone (a stack's or the fresh range's acquire), which already
    // ordered the Grow() that made it.
    return indexing_.QuotientOrAboveMax(p) < committed_blocks_.load(std::memory_order_relaxed);
  }

  // True when p lies anywhere in the reserved block range.
  bool InReservedRange(const void* p) const {
    return reinterpret_cast<uintptr_t>(p) - indexing_.begin < max_blocks_ * indexing_.block_size;
  }

  void* BlockAt(uint32_t index) const { return indexing_.BlockAt(index); }

  // REQUIRES: Contains(p).
  uint32_t IndexOf(const void* p) const { return indexing_.IndexOf(p); }

  // For loops that store through char pointers: copy it (see BlockIndexing).
  const BlockIndexing& indexing() const { return indexing_; }

  std::atomic<uint32_t>* links() const { return links_; }

  // Blocks per batch slot, at least: with groups of 2^s blocks (s >= 3),
  // slot g (words 2g and 2g + 1) covers blocks [g << s, (g + 1) << s). A
  // user of groups larger than 8 uses the front of the array only.
  static constexpr size_t kBlocksPerBatchSlot = 8;
  static_assert(2 * sizeof(std::atomic<uint32_t>) % kBlocksPerBatchSlot == 0,
                "PermanentBytes charges whole bytes of slot per block");
  std::atomic<uint32_t>* batch_slots() const { return batch_slots_; }

  // Permanent bytes of `blocks` committed blocks of `block_size`: each block,
  // its 4-byte link and its 1-byte share of the batch slots.
  static uint64_t PermanentBytes(size_t block_size, size_t blocks) {
    return uint64_t{blocks} * (block_size + sizeof(std::atomic<uint32_t>) +
                               2 * sizeof(std::atomic<uint32_t>) / kBlocksPerBatchSlot);
  }

 private:
  BlockRegion(PageSource& pages, char* reservation, size_t reservation_bytes, size_t links_bytes,
              size_t slots_bytes, size_t block_size, size_t max_blocks);

  // Commits words [old, new) of one array of them (the links, the slots).
  bool CommitWords(std::atomic<uint32_t>* words, size_t old_count, size_t new_count);

  // Commits the pages of [begin, end) of the reservation that the bytes
  // before `begin` did not: those from the first page boundary at or after
  // `begin` (see PageSource::Commit).
  bool CommitSpan(uintptr_t begin, uintptr_t end);

  PageSource* pages_;
  char* reservation_;
  size_t reservation_bytes_;
  std::atomic<uint32_t>* links_;
  std::atomic<uint32_t>* batch_slots_;
  BlockIndexing indexing_;
  size_t max_blocks_;
  std::atomic<size_t> committed_blocks_{0};
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_BLOCK_REGION_H_
