// SPDX-License-Identifier: Apache-2.0
// OverflowPool is a zone's temporary overflow memory: the guidelines'
// ExAllocatePoolWithTag when the zone is full, and ExFreePool once the zone
// has free blocks again.
//
// Memory comes in slabs of blocks, each its own mapping from the zone's
// PageSource, tagged with the zone's name ("zonealloc-overflow:conn"): the tag
// is in the slab header and, where the kernel allows, names the mapping in
// /proc/<pid>/maps. An index of the live slabs by address (SlabIndex, a
// sorted array in a mapping of its own: the pool never calls malloc) finds
// the slab of a block, and makes that lookup safe for any pointer (Owns, and
// Free of a foreign one).
//
// Growth rule: a process may hold only vm.max_map_count mappings (65530 by
// default), and a burst must not spend them a few blocks at a time. So a new
// slab is as large as all live slabs together, at least the base slab
// (slab_blocks blocks with their header, rounded up to a page) and at most
// kMaxSlabBytes (or the base slab, when that is larger): overflow's mapped
// bytes double with each new mapping up to the cap, and a burst of N blocks
// needs O(log N + N * block_size / kMaxSlabBytes) mappings. A pool holds at
// most max_slabs live slabs (65536 unless a test says otherwise: 256 GiB in
// 4 MiB slabs); past that, Allocate() returns nullptr with errno ENOMEM, as
// when a mapping fails (the slab's, or the first one of the index's array). Blocks of a slab are first handed out in address
// order, so its untouched blocks cost address space, not memory. When slabs
// go back, new slabs shrink with them.
//
// Release rule: a slab whose last block is freed goes back to the page
// source at once if the zone has free blocks. While the zone is still full,
// one such empty slab is kept as a spare, so a zone on the edge of full does
// not map and unmap on every call; the spare goes back as soon as the zone
// has free blocks again (ReleaseSpare), or when a second slab empties.
//
// Refused release: the page source may refuse an Unmap (see PageSource). The
// slab then stays mapped and live, counted in stats(), and becomes an
// unreleased slab: reused before anything new is mapped, and tried again at
// each release opportunity (the next slab release, ReleaseSpare, and the
// destructor, which reports on stderr any memory it still cannot return).
//
// Slab states; every live slab is in exactly one:
//   partial     some blocks in use, some free      on with_free_
//   full        every block in use                 on no list
//   spare       empty, kept while the zone is full spare_
//   unreleased  empty, its Unmap refused           on unreleased_
//
// AddressSanitizer builds poison a slab's free blocks, untouched ones
// included, and unpoison a block when it is handed out; the free-list link
// is read with the block already unpoisoned, and written before it is
// poisoned. A slab is unpoisoned whole before it is unmapped.
//
// Not thread-safe: the zone calls it under its slow-path lock.

#ifndef ZONEALLOC_CORE_OVERFLOW_POOL_H_
#define ZONEALLOC_CORE_OVERFLOW_POOL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include <zonealloc/internal/slab_index.h>
#include <zonealloc/page_source.h>

namespace zonealloc {

struct OverflowStats {
  size_t blocks_in_use = 0;
  size_t allocations = 0;       // overflow blocks handed out, ever
  size_t slabs_live = 0;        // mapped now, spare and unreleased included
  size_t slabs_created = 0;
  size_t slabs_released = 0;    // given back to the page source
  size_t mapped_bytes = 0;      // of the live slabs
  size_t slabs_unreleased = 0;  // empty, but the page source refused to unmap them
  size_t unmap_failures = 0;    // Unmap calls refused, retries included
};

class OverflowPool {
 public:
  // The largest slab a pool maps, unless its base slab is larger.
  static constexpr size_t kMaxSlabBytes = size_t{4} << 20;

  // REQUIRES: block_size a multiple of 8 and of alignment; alignment a power
  // of two <= 4096; slab_blocks >= 1; max_slabs >= 1. max_blocks_in_use 0
  // means unlimited.
  OverflowPool(PageSource& pages, std::string tag, size_t block_size, size_t alignment,
               size_t slab_blocks, size_t max_blocks_in_use,
               size_t max_slabs = internal::SlabIndex::kDefaultMaxRanges);
  // Unmaps every slab, trying twice; blocks still in use become invalid.
  ~OverflowPool();

  OverflowPool(const OverflowPool&) = delete;
  OverflowPool& operator=(const OverflowPool&) = delete;

  // A block from a slab with free blocks, else from an unreleased slab, the
  // spare, or a new slab, in that order. nullptr when max_blocks_in_use
  // blocks are in use or the page source fails. *recycled, where given, says
  // whether the block was handed out and freed before (else it was never
  // written since its slab was mapped).
  void* Allocate(bool* recycled = nullptr);

  // Returns `block` to its slab and applies the release rule. False, changing
  // nothing, when block is not an overflow block of this pool.
  bool Free(void* block, bool zone_has_free_blocks);

  // The zone has free blocks again: give the spare slab back, and retry the
  // unreleased ones.
  void ReleaseSpare();

  bool Owns(const void* p) const;
  // True when p is a block of this pool that Allocate() handed out and
  // Free() has not taken back.
  bool IsHandedOut(const void* p) const;
  bool has_spare() const { return spare_ != nullptr; }
  // True when max_blocks_in_use blocks are in use: Allocate() fails.
  bool AtCap() const {
    return max_blocks_in_use_ != 0 && stats_.blocks_in_use >= max_blocks_in_use_;
  }
  // True when the next Allocate() would map a new slab: no live slab has a
  // block to give.
  bool NextAllocateMaps() const {
    return with_free_ == nullptr && unreleased_ == nullptr && spare_ == nullptr;
  }
  // Blocks in the base slab, the first one mapped: at least the slab_blocks
  // asked for, more when they leave room in the slab's last page. Later slabs
  // grow (see the growth rule).
  size_t slab_blocks() const { return BlocksIn(base_slab_bytes_); }
  const std::string& tag() const { return tag_; }
  OverflowStats stats() const { return stats_; }

 private:
  struct Slab;

  size_t BlocksIn(size_t slab_bytes) const;
  size_t IndexOf(const Slab* slab, const void* block) const;
  static uint64_t* InUseBitmap(Slab* slab);
  Slab* SlabOf(const void* p) const;  // nullptr unless a live slab's block
  Slab* MapSlab();
  bool UnmapSlab(Slab* slab);
  void Release(Slab* slab);
  void RetryUnreleased();

  PageSource& pages_;
  const std::string tag_;
  const size_t block_size_;
  const size_t first_block_offset_;  // header, rounded up to the alignment
  const size_t base_slab_bytes_;     // header, slab_blocks blocks and bitmap, in pages
  const size_t max_slab_bytes_;      // max(base_slab_bytes_, kMaxSlabBytes)
  const size_t max_blocks_in_use_;
  internal::SlabIndex slabs_;   // the live slabs' mappings
  Slab* with_free_ = nullptr;   // partial slabs
  Slab* unreleased_ = nullptr;  // empty slabs whose Unmap was refused
  Slab* spare_ = nullptr;       // an empty slab kept while the zone is full
  OverflowStats stats_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_OVERFLOW_POOL_H_
