// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_sizing.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <zonealloc/internal/checks.h>

namespace zonealloc {
namespace {

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;

// The permanent budget never drops below this, so a small machine can still
// extend its zones a little under heavy demand.
constexpr uint64_t kMinPermanentBudgetBytes = uint64_t{64} << 20;

}  // namespace

size_t DefaultZoneBytes(MemoryClass memory_class, SystemRole role) {
  const bool server = role == SystemRole::kServer;
  switch (memory_class) {
    case MemoryClass::kSmall:
      return server ? 128 * kKiB : 64 * kKiB;
    case MemoryClass::kMedium:
      return server ? 1 * kMiB : 256 * kKiB;
    case MemoryClass::kLarge:
      return server ? 4 * kMiB : 1 * kMiB;
  }
  return 64 * kKiB;  // Unreachable for valid enums; the most modest entry.
}

size_t DefaultZoneBlocks(const SystemProfile& profile, size_t block_size) {
  // Always on: a zero block size is a caller bug that would divide by zero.
  if (block_size == 0) internal::Crash("DefaultZoneBlocks: block_size must be > 0");
  const size_t bytes = DefaultZoneBytes(profile.memory_class(), profile.role);
  return std::max(kMinDefaultZoneBlocks, bytes / block_size);
}

uint64_t DefaultPermanentBudgetBytes(const SystemProfile& profile) {
  const uint64_t share = profile.role == SystemRole::kServer ? 16 : 64;
  return std::max(kMinPermanentBudgetBytes, profile.usable_memory_bytes() / share);
}

}  // namespace zonealloc
