// SPDX-License-Identifier: Apache-2.0
// PageSource is where a zone's memory comes from: address-space reservations
// for its permanent segments, and whole mappings for overflow slabs and CPU
// caches. (The zone object, its drain buffer and the overflow pool's slab
// index, bookkeeping, come from the heap and from mmap directly.)
//
// The default is mmap. Tests wrap it to count calls and inject failures; an
// embedder can route zone memory through its own page allocator. A PageSource
// must outlive every zone created with it, and must not call into a zone or
// a ZoneService: a zone calls Commit(), Map() and Unmap() with its slow-path
// lock held when it extends or maps and unmaps overflow slabs (Reserve()
// and Prefault() never under a lock). For the same reason it should not call
// operator new or malloc, which a program may serve from a zone; the
// default source calls neither.

#ifndef ZONEALLOC_CORE_PAGE_SOURCE_H_
#define ZONEALLOC_CORE_PAGE_SOURCE_H_

#include <cerrno>
#include <cstddef>
#include <string_view>

namespace zonealloc {

class PageSource {
 public:
  virtual ~PageSource() = default;

  // Reserves `bytes` (a multiple of the page size) of address space that
  // faults on access until committed. nullptr on failure. `tag` names the
  // owner (e.g. "zonealloc:conn") where the system can show it.
  virtual void* Reserve(size_t bytes, std::string_view tag) = 0;

  // Makes [addr, addr + bytes) of a reservation readable and writable; both
  // page aligned. The pages must read as zero until written, as fresh
  // anonymous memory does: a zone's links and batch slots start out as
  // zeros without a store. False on failure, leaving the range as it was.
  // Zones commit each page once, so a source may replace the pages (e.g.
  // mmap with MAP_FIXED); only pages committed by a growth that failed part
  // way, never written, are asked for again.
  virtual bool Commit(void* addr, size_t bytes) = 0;

  // Asks for committed pages [addr, addr + bytes), page aligned, to be made
  // resident now, in one call, rather than by a page fault each at first
  // touch. Only a hint: false when the source cannot (errno EINVAL, as
  // Linux before 5.14, which has no MADV_POPULATE_WRITE, or ENOSYS, as the
  // default) or the system refuses for now (e.g. ENOMEM), and the pages
  // then fault in at first touch, as they would without it. Other threads
  // may be writing to the pages meanwhile: it must not change what they
  // hold.
  virtual bool Prefault(void* addr, size_t bytes) {
    (void)addr, (void)bytes;
    errno = ENOSYS;
    return false;
  }

  // Maps `bytes` (a multiple of the page size) of zeroed, usable memory
  // aligned to `alignment` (a power of two). nullptr on failure. `tag` as for
  // Reserve.
  virtual void* Map(size_t bytes, size_t alignment, std::string_view tag) = 0;

  // Returns a whole range obtained from Reserve() or Map() to the system.
  // False when the system refuses, leaving the range mapped as it was, with
  // errno saying why; the caller still owns the range and may try again.
  // Linux refuses with ENOMEM when the process holds vm.max_map_count
  // mappings and the range lies inside a larger one (the kernel merges
  // neighbouring mappings), since unmapping it would split that one in three.
  virtual bool Unmap(void* addr, size_t bytes) = 0;
};

// The process-wide mmap-based source; never destroyed. On Linux 5.17 and
// later it names its mappings with the tag, so /proc/<pid>/maps shows
// "[anon:zonealloc-overflow:conn]" beside each overflow slab.
PageSource& DefaultPageSource();

// The system page size, read once.
size_t PageSize();

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_PAGE_SOURCE_H_
