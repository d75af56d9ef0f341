// SPDX-License-Identifier: Apache-2.0
// ZoneResource is a std::pmr::memory_resource over a Zone, so pmr containers
// (std::pmr::list, std::pmr::map, ...) take their nodes from the zone:
//
//   auto zone = Zone::Create({.name = "orders", .block_size = 64});
//   ZoneResource resource(**zone);
//   std::pmr::map<int, Order> orders(&resource);   // nodes are zone blocks
//
// It does not own the zone, which must outlive it and everything allocated
// through it. A request the zone's blocks can hold (size at most
// block_size(), alignment at most alignment(); see
// internal/adapter_routing.h) is a zone block; any other (a vector's array,
// an over-aligned type) goes to the upstream resource. pmr hands the size and alignment back to
// deallocate(), which routes by the same rule, so each pointer goes back to
// where it came from. Like the zone, it may be used from any thread, and
// memory may be freed on a thread other than the one that allocated it,
// when the upstream allows that (the default resource does).
//
// A zone request that the zone cannot serve (Allocate() returned nullptr:
// past every cap) throws std::bad_alloc, as memory_resource requires; it
// does not fall back to upstream, since deallocate() could not tell where
// such a block came from.
//
// For node containers with a std::allocator interface, see ZoneAllocator
// (zone_allocator.h).

#ifndef ZONEALLOC_CORE_ZONE_RESOURCE_H_
#define ZONEALLOC_CORE_ZONE_RESOURCE_H_

#include <cstddef>
#include <memory_resource>
#include <new>

#include "absl/base/optimization.h"
#include <zonealloc/internal/adapter_routing.h>
#include <zonealloc/zone.h>

namespace zonealloc {

class ZoneResource final : public std::pmr::memory_resource {
 public:
  // REQUIRES: `zone` outlives this resource and its allocations; `upstream`
  // is not nullptr and outlives them too.
  explicit ZoneResource(Zone& zone,
                        std::pmr::memory_resource* upstream = std::pmr::get_default_resource())
      : zone_(&zone), upstream_(upstream) {}

  Zone& zone() const { return *zone_; }
  std::pmr::memory_resource* upstream() const { return upstream_; }

  // True when a request of `bytes` bytes aligned to `alignment` is a zone
  // block (false: it goes upstream).
  bool ServedByZone(size_t bytes, size_t alignment) const {
    return internal::ZoneServes(*zone_, bytes, alignment);
  }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    if (!ServedByZone(bytes, alignment)) return upstream_->allocate(bytes, alignment);
    void* block = zone_->Allocate();
    if (ABSL_PREDICT_FALSE(block == nullptr)) internal::ThrowBadAlloc();
    return block;
  }

  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    if (!ServedByZone(bytes, alignment)) return upstream_->deallocate(p, bytes, alignment);
    zone_->Free(p);
  }

  // Equal (each can free what the other allocated) only to a ZoneResource
  // over the same zone whose upstream is equal to this one's: both route a
  // request by the same rule, zone blocks go back to the same zone, and
  // upstream memory to an equal upstream, which pmr says may free it.
  // Out of line (zone_resource.cc), so its dynamic_cast compiles in the
  // library and a program built with -fno-rtti can include this header.
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override;

  Zone* zone_;
  std::pmr::memory_resource* upstream_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_RESOURCE_H_
