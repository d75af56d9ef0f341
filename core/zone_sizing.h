// SPDX-License-Identifier: Apache-2.0
// Default sizes, from the machine's SystemProfile: the guidelines' "modestly
// sized zone buffer", large enough for average demand on a typical machine
// of its class rather than for the worst case on a high-end one, and the
// permanent-memory budget that zone extension may not pass.
//
// Default initial zone bytes (blocks = bytes / block_size, at least
// kMinDefaultZoneBlocks):
//
//   memory class   workstation   server
//   small              64 KiB    128 KiB
//   medium            256 KiB      1 MiB
//   large               1 MiB      4 MiB
//
// Default permanent budget shared by all zones of the default ZoneService:
// 1/64 of usable memory on a workstation, 1/16 on a server, at least 64 MiB.

#ifndef ZONEALLOC_CORE_ZONE_SIZING_H_
#define ZONEALLOC_CORE_ZONE_SIZING_H_

#include <cstddef>
#include <cstdint>

#include <zonealloc/system_profile.h>

namespace zonealloc {

inline constexpr size_t kMinDefaultZoneBlocks = 16;

// The table above, in bytes.
size_t DefaultZoneBytes(MemoryClass memory_class, SystemRole role);

// Initial blocks for a zone of `block_size` bytes on `profile`.
// REQUIRES: block_size > 0.
size_t DefaultZoneBlocks(const SystemProfile& profile, size_t block_size);

// Bytes of permanent zone memory (initial segments and extensions) that the
// default ZoneService allows all its zones together.
uint64_t DefaultPermanentBudgetBytes(const SystemProfile& profile);

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_SIZING_H_
