// SPDX-License-Identifier: Apache-2.0
// SlabIndex finds the overflow slab that holds an address: the live slabs'
// ranges in a sorted array, searched by bisection, for a pool's Owns() and
// Free() of any pointer.
//
// Its array is an anonymous mapping of its own, not the heap: the overflow
// pool runs under the zone's slow-path lock, where calling malloc could
// re-enter the zone (an operator new that serves small objects from it) and
// wait on a lock the thread holds, or, in a child forked while another
// thread was in malloc, wait on malloc's lock under an allocator that takes
// none around fork(). The mapping reserves room for max_ranges ranges up front
// (16 bytes each: 1 MiB by default, with MAP_NORESERVE, so address space
// only, unless the system counts every mapping against its commit limit,
// vm.overcommit_memory = 2). It is mapped at the first Reserve() and given
// back when it holds no range (ReleaseIfEmpty); its pages are touched only
// as ranges fill them, from the front. It comes from mmap directly, not
// from the zone's PageSource, and is not named: a source sees exactly one
// Map() per slab (tests count them), and the index is a few pages of the
// pool's own bookkeeping, as the zone object is heap memory of its own.
//
// Not thread-safe: the pool calls it under the zone's slow-path lock.

#ifndef ZONEALLOC_CORE_INTERNAL_SLAB_INDEX_H_
#define ZONEALLOC_CORE_INTERNAL_SLAB_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace zonealloc::internal {

class SlabIndex {
 public:
  // A slab's mapping: bytes [begin, begin + bytes).
  struct Range {
    uintptr_t begin;
    size_t bytes;
  };

  // A process may hold only vm.max_map_count mappings (65530 by default),
  // so a pool cannot have many more live slabs than this: 1 MiB of address
  // space.
  static constexpr size_t kDefaultMaxRanges = size_t{1} << 16;

  explicit SlabIndex(size_t max_ranges = kDefaultMaxRanges) : max_ranges_(max_ranges) {}
  // Unmaps the array (the ranges themselves are the caller's).
  ~SlabIndex();

  SlabIndex(const SlabIndex&) = delete;
  SlabIndex& operator=(const SlabIndex&) = delete;

  // Makes sure Insert() has room for one more range, mapping the array on
  // first use. False, with errno set, when it holds max_ranges already
  // (ENOMEM) or the array cannot be mapped (mmap's errno).
  bool Reserve();

  // Adds `range`. REQUIRES: Reserve() returned true since the last Insert();
  // range overlaps none present.
  void Insert(Range range);

  // Removes the range that begins at `begin`, then ReleaseIfEmpty().
  // REQUIRES: one does.
  void Erase(uintptr_t begin);

  // Unmaps the array if it holds no range: after the last Erase(), or a
  // Reserve() whose range never came. Should munmap refuse, the array stays
  // for the next Reserve(), and the destructor tries again; errno is kept
  // either way.
  void ReleaseIfEmpty();

  // The range that holds `address`, or nullptr.
  const Range* Find(uintptr_t address) const;

  // Every range, in address order.
  std::span<const Range> ranges() const { return {ranges_, size_}; }

 private:
  // The first range whose begin is above `address`.
  Range* UpperBound(uintptr_t address) const;
  // True when the array is unmapped, or was not mapped; false, with errno
  // set, when munmap refused.
  bool Unmap();

  const size_t max_ranges_;
  Range* ranges_ = nullptr;  // max_ranges_ of room once mapped
  size_t size_ = 0;
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_SLAB_INDEX_H_
