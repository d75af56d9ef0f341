// OverflowPool is a zone's temporary overflow memory: the guidelines'
// ExAllocatePoolWithTag when the zone is full, and ExFreePool once the zone
// has free blocks again.
//
// Memory comes in slabs of several blocks from the zone's PageSource, each
// tagged with the zone's name ("zonealloc-overflow:conn"): the tag is in the
// slab header and, where the kernel allows, names the mapping in
// /proc/<pid>/maps. A slab is aligned to its own power-of-two size, so the
// slab of a block is found by masking its address; a hash set of live slabs
// makes that lookup safe for any pointer (Owns, and Free of a foreign one).
//
// Release rule: a slab whose last block is freed goes back to the page
// source at once if the zone has free blocks. While the zone is still full,
// one such empty slab is kept as a spare, so a zone on the edge of full does
// not map and unmap on every call; the spare goes back as soon as the zone
// has free blocks again (ReleaseSpare), or when a second slab empties.
//
// Not thread-safe: the zone calls it under its slow-path lock.

#ifndef ZONEALLOC_CORE_OVERFLOW_POOL_H_
#define ZONEALLOC_CORE_OVERFLOW_POOL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include <zonealloc/page_source.h>

namespace zonealloc {

struct OverflowStats {
  size_t blocks_in_use = 0;
  size_t allocations = 0;     // overflow blocks handed out, ever
  size_t slabs_live = 0;      // mapped now, the spare included
  size_t slabs_created = 0;
  size_t slabs_released = 0;
};

class OverflowPool {
 public:
  // REQUIRES: block_size a multiple of 8 and of alignment; alignment a power
  // of two <= 4096; slab_blocks >= 1. max_blocks_in_use 0 means unlimited.
  OverflowPool(PageSource& pages, std::string tag, size_t block_size, size_t alignment,
               size_t slab_blocks, size_t max_blocks_in_use);
  ~OverflowPool();  // unmaps every slab; blocks still in use become invalid

  OverflowPool(const OverflowPool&) = delete;
  OverflowPool& operator=(const OverflowPool&) = delete;

  // A block from a slab with free blocks, else from a new slab. nullptr when
  // max_blocks_in_use blocks are in use or the page source fails.
  void* Allocate();

  // Returns `block` to its slab and applies the release rule. False, changing
  // nothing, when block is not an overflow block of this pool.
  bool Free(void* block, bool zone_has_free_blocks);

  // The zone has free blocks again: give the spare slab back.
  void ReleaseSpare();

  bool Owns(const void* p) const;
  bool has_spare() const { return spare_ != nullptr; }
  // Blocks per slab: at least the slab_blocks asked for, more when they
  // leave room in the slab's power-of-two size.
  size_t slab_blocks() const { return slab_blocks_; }
  const std::string& tag() const { return tag_; }
  OverflowStats stats() const { return stats_; }

 private:
  struct Slab;

  Slab* SlabOf(const void* p) const;  // nullptr unless a live slab's block
  Slab* MapSlab();
  void UnmapSlab(Slab* slab);
  void LinkWithFree(Slab* slab);
  void UnlinkWithFree(Slab* slab);

  PageSource& pages_;
  const std::string tag_;
  const size_t block_size_;
  const size_t first_block_offset_;  // header, rounded up to the alignment
  const size_t slab_bytes_;          // a power of two, at least a page
  const size_t slab_blocks_;         // fill the slab
  const size_t max_blocks_in_use_;
  absl::flat_hash_set<uintptr_t> slabs_;  // addresses of live slabs
  Slab* with_free_ = nullptr;             // slabs with a free block, spare excluded
  Slab* spare_ = nullptr;                 // an empty slab kept while the zone is full
  OverflowStats stats_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_OVERFLOW_POOL_H_
