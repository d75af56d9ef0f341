// SPDX-License-Identifier: Apache-2.0
// ObjectZone<T> is a zone of T objects: it owns a Zone whose blocks have T's
// size and alignment, and constructs and destroys T in them, so callers
// need no placement new or explicit destructor calls:
//
//   absl::StatusOr<ObjectZone<Connection>> conns =
//       ObjectZone<Connection>::Create({.name = "conn"});
//   Connection* c = conns->New(fd);        // nullptr only past every cap
//   conns->Delete(c);                      // ~Connection(), then Free()
//   ObjectZone<Connection>::UniquePtr p = conns->MakeUnique(fd);
//
// New() hands out blocks as Zone::Allocate() does: from any thread, and
// nullptr (not a Status: it is the hot path) only when the zone is past
// every cap. If T's constructor throws, the block goes back to the zone and
// the exception propagates. Delete() and UniquePtr's deleter may run on any
// thread.
//
// The ObjectZone must outlive its objects. Destroying it with objects still
// alive does not run their destructors; the zone reports them as a leak on
// stderr and unmaps them. A moved-from ObjectZone may only be destroyed or
// assigned to; objects and deleters made before the move stay valid, as
// they point at the Zone, which does not move.

#ifndef ZONEALLOC_CORE_OBJECT_ZONE_H_
#define ZONEALLOC_CORE_OBJECT_ZONE_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <zonealloc/zone.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace internal {

// InvalidArgument naming the zone and both sizes: options.block_size is
// below object_size. Out of line, so this header needs no Abseil formatting.
absl::Status ObjectBlockSizeError(const ZoneOptions& options, size_t object_size);

}  // namespace internal

template <typename T>
class ObjectZone {
 public:
  static_assert(alignof(T) <= 4096, "ZoneOptions.alignment is at most 4096");

  // Destroys and frees an object of the zone; for std::unique_ptr. A
  // default-constructed Deleter goes with null pointers only.
  class Deleter {
   public:
    Deleter() = default;
    explicit Deleter(Zone& zone) : zone_(&zone) {}
    void operator()(T* object) const {
      object->~T();
      zone_->Free(object);
    }

   private:
    Zone* zone_ = nullptr;
  };
  using UniquePtr = std::unique_ptr<T, Deleter>;

  // A zone of `service` for T: `options` as for ZoneService::CreateZone,
  // except that block_size 0 means sizeof(T) and alignment is raised to
  // alignof(T). InvalidArgument when block_size is neither 0 nor at least
  // sizeof(T), and ZoneService::CreateZone's errors.
  static absl::StatusOr<ObjectZone> Create(ZoneService& service, ZoneOptions options) {
    if (options.block_size == 0) options.block_size = sizeof(T);
    if (options.block_size < sizeof(T)) {
      return internal::ObjectBlockSizeError(options, sizeof(T));
    }
    options.alignment = std::max(options.alignment, alignof(T));
    absl::StatusOr<std::unique_ptr<Zone>> zone = service.CreateZone(options);
    if (!zone.ok()) return zone.status();
    return ObjectZone(*std::move(zone));
  }
  // As above, in ZoneService::Default().
  static absl::StatusOr<ObjectZone> Create(ZoneOptions options) {
    return Create(ZoneService::Default(), std::move(options));
  }

  ObjectZone(ObjectZone&&) noexcept = default;
  ObjectZone& operator=(ObjectZone&&) noexcept = default;

  // A T constructed from `args` in a block of the zone; nullptr when the
  // zone cannot hand out a block. If the constructor throws, the block is
  // freed and the exception propagates.
  template <typename... Args>
  T* New(Args&&... args) {
    void* block = zone_->Allocate();
    if (block == nullptr) return nullptr;
    // Frees the block if T's constructor throws; no try/catch, so a program
    // built with -fno-exceptions can include this header.
    FreeUnlessKept guard{zone_.get(), block};
    T* object = ::new (block) T(std::forward<Args>(args)...);
    guard.block = nullptr;
    return object;
  }

  // Runs ~T() and frees the block. Delete(nullptr) does nothing.
  // REQUIRES: object is nullptr or came from New() of this zone and was not
  // deleted yet.
  void Delete(T* object) {
    if (object != nullptr) deleter()(object);
  }

  // New() owned by a UniquePtr; a null one when New() returns nullptr.
  template <typename... Args>
  UniquePtr MakeUnique(Args&&... args) {
    return UniquePtr(New(std::forward<Args>(args)...), deleter());
  }

  Deleter deleter() const { return Deleter(*zone_); }
  Zone& zone() const { return *zone_; }

 private:
  struct FreeUnlessKept {
    Zone* zone;
    void* block;
    ~FreeUnlessKept() {
      if (block != nullptr) zone->Free(block);
    }
  };

  explicit ObjectZone(std::unique_ptr<Zone> zone) : zone_(std::move(zone)) {}

  std::unique_ptr<Zone> zone_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_OBJECT_ZONE_H_
