// SPDX-License-Identifier: Apache-2.0
// UnsynchronizedZone is a zone for one owning thread (the guidelines'
// ExAllocateFromZone / ExFreeToZone): the same API as Zone, no atomics.
//
// Use it when one thread allocates and frees all of a type's objects (a
// per-thread arena of tree nodes, a single-threaded event loop). Calling it
// from two threads at once is undefined; use Zone for that.
//
// Freed blocks form a singly linked list threaded through the blocks
// themselves, so Allocate() and Free() are a load and a store each. Blocks
// never handed out are taken in address order after the list runs dry, so
// creating a zone touches none of its pages.
//
// AddressSanitizer builds poison a freed block until it is handed out again
// (see internal/memcheck_hooks.h), so a read or write through a freed
// pointer stops the program with an ASan report. Blocks never handed out
// stay unpoisoned: poisoning them would touch an eighth of the zone in
// shadow memory at once.
// With ZONEALLOC_VALGRIND the zone is a Valgrind mempool, as a Zone is: for
// memcheck a block is allocated from Allocate() to Free(), and free blocks,
// never handed out ones included, are no access.
//
// Its permanent memory is charged to a ZoneService's budget as a Zone's is
// (ZoneService::Default() unless one is given); it is not listed in the
// service's Snapshot() or DumpText().

#ifndef ZONEALLOC_CORE_UNSYNCHRONIZED_ZONE_H_
#define ZONEALLOC_CORE_UNSYNCHRONIZED_ZONE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/statusor.h"
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class UnsynchronizedZone {
 public:
  // InvalidArgument for bad options (naming the field) or an initial
  // segment past the service's budget, ResourceExhausted when it cannot be
  // mapped.
  static absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> Create(const ZoneOptions& options);
  static absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> Create(const ZoneOptions& options,
                                                                    ZoneService& service);

  // Refunds the budget; blocks in use become invalid, and when there are
  // any, one line on stderr says how many (a leak report).
  ~UnsynchronizedZone();

  UnsynchronizedZone(const UnsynchronizedZone&) = delete;
  UnsynchronizedZone& operator=(const UnsynchronizedZone&) = delete;

  // A free block, or nullptr when the zone is full.
  void* Allocate() {
    FreeBlock* block = free_list_;
    if (ABSL_PREDICT_FALSE(block == nullptr)) return AllocateUntouched();
    internal::UnpoisonBlock(block, block_size());  // its link is read first
    free_list_ = block->next;
    return HandOut(block);
  }

  // Free(nullptr) does nothing, as free(NULL).
  // REQUIRES: block is nullptr, or came from this zone's Allocate() and is
  // not yet freed.
  void Free(void* block) {
    if (ABSL_PREDICT_FALSE(!region_.Contains(block))) return FreeForeign(block);
    if constexpr (internal::kDebugChecks) CheckAndMarkFree(block);
    --in_use_;
    free_list_ = new (block) FreeBlock{free_list_};
    internal::BlockFreed(this, block, block_size());
  }

  bool IsFull() const { return free_list_ == nullptr && untouched_ == region_.committed_blocks(); }
  bool Owns(const void* p) const { return region_.Contains(p); }
  size_t block_size() const { return region_.block_size(); }
  const std::string& name() const { return name_; }

  ZoneStats Stats() const;

 private:
  struct FreeBlock {
    FreeBlock* next;
  };

  UnsynchronizedZone(const ZoneOptions& resolved, internal::BlockRegion region,
                     ZoneService& service);

  void* HandOut(void* block) {
    if constexpr (internal::kDebugChecks) MarkAllocated(block);
    if (++in_use_ > peak_in_use_) peak_in_use_ = in_use_;
    internal::BlockHandedOut(this, block, block_size());
    return block;
  }
  ABSL_ATTRIBUTE_NOINLINE void* AllocateUntouched();
  ABSL_ATTRIBUTE_NOINLINE void FreeForeign(void* block);

  // Debug builds track each block's state in the region's (otherwise unused)
  // link array: allocated or free.
  void MarkAllocated(const void* block);
  void CheckAndMarkFree(const void* block);
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CrashOnForeignFree(
      const void* block) const;

  const std::string name_;
  ZoneService& service_;
  internal::BlockRegion region_;
  FreeBlock* free_list_ = nullptr;
  size_t untouched_ = 0;  // blocks [untouched_, committed) never handed out
  size_t in_use_ = 0;
  size_t peak_in_use_ = 0;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_UNSYNCHRONIZED_ZONE_H_
