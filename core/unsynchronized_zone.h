// UnsynchronizedZone is a zone for one owning thread (the guidelines'
// ExAllocateFromZone / ExFreeToZone): the same API as Zone, no atomics.
//
// Use it when one thread allocates and frees all of a type's objects (a
// per-thread arena of tree nodes, a single-threaded event loop). Calling it
// from two threads at once is undefined; use Zone for that.
//
// Free blocks form a singly linked list threaded through the blocks
// themselves, so Allocate() and Free() are a load and a store each.

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
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class UnsynchronizedZone {
 public:
  // InvalidArgument for bad options (naming the field), ResourceExhausted
  // when the initial segment cannot be mapped.
  static absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> Create(const ZoneOptions& options);

  UnsynchronizedZone(const UnsynchronizedZone&) = delete;
  UnsynchronizedZone& operator=(const UnsynchronizedZone&) = delete;

  // A free block, or nullptr when the zone is full.
  void* Allocate() {
    FreeBlock* block = free_list_;
    if (ABSL_PREDICT_FALSE(block == nullptr)) return nullptr;
    free_list_ = block->next;
    if constexpr (internal::kDebugChecks) MarkAllocated(block);
    if (++in_use_ > peak_in_use_) peak_in_use_ = in_use_;
    return block;
  }

  // REQUIRES: block came from this zone's Allocate() and is not yet freed.
  void Free(void* block) {
    if (ABSL_PREDICT_FALSE(!region_.Contains(block))) CrashOnForeignFree(block);
    if constexpr (internal::kDebugChecks) CheckAndMarkFree(block);
    --in_use_;
    free_list_ = new (block) FreeBlock{free_list_};
  }

  bool IsFull() const { return free_list_ == nullptr; }
  bool Owns(const void* p) const { return region_.Contains(p); }
  size_t block_size() const { return region_.block_size(); }
  const std::string& name() const { return name_; }

  ZoneStats Stats() const;

 private:
  struct FreeBlock {
    FreeBlock* next;
  };

  UnsynchronizedZone(const ZoneOptions& resolved, internal::BlockRegion region);

  // Debug builds track each block's state in the region's (otherwise unused)
  // link array: allocated or free.
  void MarkAllocated(const void* block);
  void CheckAndMarkFree(const void* block);
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CrashOnForeignFree(
      const void* block) const;

  const std::string name_;
  internal::BlockRegion region_;
  FreeBlock* free_list_ = nullptr;
  size_t in_use_ = 0;
  size_t peak_in_use_ = 0;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_UNSYNCHRONIZED_ZONE_H_
