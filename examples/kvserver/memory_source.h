// SPDX-License-Identifier: Apache-2.0
// MemorySource is the server's allocator switch: every fixed-size object
// (connections, I/O buffer chunks, hash-table nodes) and every small value
// comes from here, out of a zonealloc::Zone per kind, or out of plain
// malloc when the server runs with --allocator=malloc so the two can be
// compared (and malloc replaced with LD_PRELOAD).
//
// Values larger than the largest payload class always come from malloc:
// a zone is for hot fixed-size objects, not for arbitrary sizes.
//
// Allocate() returns nullptr when a zone is past every cap (or malloc
// fails); callers answer that with an error or drop the connection.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_MEMORY_SOURCE_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_MEMORY_SOURCE_H_

#include <array>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace kvserver {

enum class Backend { kZone, kMalloc };

// "zone" or "malloc"; InvalidArgument naming anything else.
absl::StatusOr<Backend> ParseBackend(std::string_view text);
std::string_view BackendName(Backend backend);

// The fixed-size kinds of object, one zone each.
enum class FixedKind { kConnection = 0, kIoBuffer = 1, kNode = 2 };
inline constexpr size_t kFixedKinds = 3;

// Payload size classes (key and value bytes together); above the last one,
// malloc. Steps of a half between powers of two, so a payload wastes at
// most a third of its block (a 16-byte key with a 64-byte value: 96).
inline constexpr std::array<size_t, 9> kPayloadClasses = {32, 48, 64, 96, 128, 192, 256, 384, 512};

class MemorySource {
 public:
  struct Sizes {
    // Block size of each FixedKind, indexed by its value.
    std::array<size_t, kFixedKinds> fixed_bytes;
  };

  // With Backend::kZone, creates a ZoneService of its own and one zone per
  // fixed kind and payload class; the zone's error otherwise.
  static absl::StatusOr<std::unique_ptr<MemorySource>> Create(Backend backend, const Sizes& sizes);

  // Destroys the zones: every block must have been freed by then.
  ~MemorySource();
  MemorySource(const MemorySource&) = delete;
  MemorySource& operator=(const MemorySource&) = delete;

  void* Allocate(FixedKind kind) {
    if (backend_ == Backend::kMalloc) return std::malloc(fixed_bytes_[Index(kind)]);
    return zones_[Index(kind)]->Allocate();
  }
  void Free(FixedKind kind, void* p) {
    if (backend_ == Backend::kMalloc) return std::free(p);
    zones_[Index(kind)]->Free(p);
  }

  // At least `bytes` bytes; Free it with the same `bytes`.
  void* AllocatePayload(size_t bytes) {
    const int c = PayloadClass(bytes);
    if (backend_ == Backend::kMalloc || c < 0) return std::malloc(bytes == 0 ? 1 : bytes);
    return zones_[kFixedKinds + c]->Allocate();
  }
  void FreePayload(void* p, size_t bytes) {
    const int c = PayloadClass(bytes);
    if (backend_ == Backend::kMalloc || c < 0) return std::free(p);
    zones_[kFixedKinds + c]->Free(p);
  }

  // The payload class `bytes` falls in, or -1 for malloc.
  static int PayloadClass(size_t bytes) {
    for (size_t c = 0; c < kPayloadClasses.size(); ++c) {
      if (bytes <= kPayloadClasses[c]) return static_cast<int>(c);
    }
    return -1;
  }

  Backend backend() const { return backend_; }
  size_t fixed_bytes(FixedKind kind) const { return fixed_bytes_[Index(kind)]; }

  // The service's dump (ZoneService::DumpText()), or one line saying the
  // memory comes from malloc.
  std::string DumpText() const;
  // Blocks handed out and not freed, all zones together; 0 with malloc.
  size_t InUseBlocks() const;

 private:
  static size_t Index(FixedKind kind) { return static_cast<size_t>(kind); }
  MemorySource(Backend backend, const Sizes& sizes) : backend_(backend), fixed_bytes_(sizes.fixed_bytes) {}

  const Backend backend_;
  const std::array<size_t, kFixedKinds> fixed_bytes_;
  std::unique_ptr<zonealloc::ZoneService> service_;  // outlives zones_ (declared first)
  // Fixed kinds first, then payload classes. Empty with Backend::kMalloc.
  std::array<std::unique_ptr<zonealloc::Zone>, kFixedKinds + kPayloadClasses.size()> zones_;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_MEMORY_SOURCE_H_
