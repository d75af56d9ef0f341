// SPDX-License-Identifier: Apache-2.0
// ZoneAllocator<T> is an STL allocator that puts a node container's nodes
// (std::list, std::map/set, std::unordered_map/set) in a Zone:
//
//   using Value = std::pair<const int, Order>;
//   auto zone = Zone::Create({.name = "orders", .block_size = NodeBlockSize<Value>()});
//   std::map<int, Order, std::less<int>, ZoneAllocator<Value>> orders{
//       ZoneAllocator<Value>(**zone)};
//
// Routing: a single object (allocate(1)) whose size and alignment one of the
// zone's blocks holds (see internal/adapter_routing.h) is a zone block;
// everything else (n > 1, e.g. an unordered_map's bucket array, or a T too
// big or too aligned for the zone) comes from std::allocator<T> (::operator
// new). deallocate(p, n) gets the same n and T and routes by the same rule.
//
// The zone must be big enough for the container's node, which is bigger than
// its value_type (links, a colour, a cached hash) and differs between
// standard libraries. Nodes that do not fit still work: they come from
// ::operator new, silently. So size the zone with NodeBlockSize<Value>(), and
// check that the nodes really land in the zone: the zone's
// Stats().in_use_blocks grows by one per element (zone_allocator_test.cc
// does). ServedByZone(n) says where allocate(n) of a type you can name goes.
//
// Equality and rebinding: an allocator holds only a Zone*; a rebound copy
// (ZoneAllocator<Node> made from ZoneAllocator<Value>) keeps it, and two
// allocators are equal when their zones are the same. That is sound: the
// route of allocate(n) depends on nothing but T, n and the zone, and
// memory is always freed as the same T with the same n, so two allocators
// over one zone send it to the same place: the same zone, or ::operator new.
//
// Propagation: all three propagate_on_container_* traits are true: the
// allocator follows the nodes. Move assignment and swap of containers on
// different zones are O(1) and never undefined (with unequal allocators
// that do not propagate, swap is undefined), and copy assignment makes the
// target use the source's zone. A container's zone can thus change on
// assignment; give each container the zone you want after the last one.
//
// Allocate() returning nullptr (the zone is past every cap) throws
// std::bad_alloc, as an allocator must.

#ifndef ZONEALLOC_CORE_ZONE_ALLOCATOR_H_
#define ZONEALLOC_CORE_ZONE_ALLOCATOR_H_

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

#include "absl/base/optimization.h"
#include <zonealloc/internal/adapter_routing.h>
#include <zonealloc/zone.h>

namespace zonealloc {

// A block size that holds the node of a std::list, std::set/map and
// std::unordered_set/map whose value_type is Value, in libstdc++ (the tests
// check list, map and unordered_map) and, by its node layouts, libc++: the
// value plus four pointers (a tree node's three links and colour; a
// hash node's link and cached hash; a list node's two links). Nodes aligned
// to more than the zone's alignment() go upstream (see
// internal/adapter_routing.h).
template <typename Value>
constexpr size_t NodeBlockSize() {
  constexpr size_t kAlign = alignof(Value) > alignof(void*) ? alignof(Value) : alignof(void*);
  constexpr auto round_up = [](size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; };
  // Links before the value (a tree node: three links and a colour; a list
  // node: two links), or one link before it and the cached hash after (a
  // hash node), each padded to the value's alignment.
  constexpr size_t kLinksFirst = round_up(round_up(4 * sizeof(void*)) + sizeof(Value));
  constexpr size_t kHashNode = round_up(round_up(sizeof(void*)) + sizeof(Value) + sizeof(size_t));
  return kLinksFirst > kHashNode ? kLinksFirst : kHashNode;
}

template <typename T>
class ZoneAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  // REQUIRES: `zone` outlives every allocation made through this allocator
  // and its copies. There is no default constructor: a container is given
  // its zone.
  explicit ZoneAllocator(Zone& zone) noexcept : zone_(&zone) {}
  template <typename U>
  ZoneAllocator(const ZoneAllocator<U>& other) noexcept : zone_(&other.zone()) {}

  T* allocate(size_t n) {
    if (!ServedByZone(n)) return std::allocator<T>().allocate(n);
    void* block = zone_->Allocate();
    if (ABSL_PREDICT_FALSE(block == nullptr)) internal::ThrowBadAlloc();
    return static_cast<T*>(block);
  }

  void deallocate(T* p, size_t n) noexcept {
    if (!ServedByZone(n)) return std::allocator<T>().deallocate(p, n);
    zone_->Free(p);
  }

  // True when allocate(n) hands out a zone block (false: ::operator new).
  bool ServedByZone(size_t n) const {
    return n == 1 && internal::ZoneServes(*zone_, sizeof(T), alignof(T));
  }

  Zone& zone() const { return *zone_; }

 private:
  Zone* zone_;
};

// Same zone: each frees what the other allocated (see "Equality" above).
template <typename T, typename U>
bool operator==(const ZoneAllocator<T>& a, const ZoneAllocator<U>& b) {
  return &a.zone() == &b.zone();
}

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_ALLOCATOR_H_
