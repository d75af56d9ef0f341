// SPDX-License-Identifier: Apache-2.0
// The one rule the standard-library adapters (ZoneResource, ZoneAllocator)
// route by: a request goes to the zone when one block can hold it, and to
// the adapter's upstream otherwise. Deallocation applies the same rule to the
// same size and alignment, so memory always goes back where it came from.

#ifndef ZONEALLOC_CORE_INTERNAL_ADAPTER_ROUTING_H_
#define ZONEALLOC_CORE_INTERNAL_ADAPTER_ROUTING_H_

#include <cstddef>

#include <zonealloc/zone.h>

namespace zonealloc::internal {

// True when one of `zone`'s blocks holds `bytes` bytes aligned to
// `alignment`.
inline bool ZoneServes(const Zone& zone, size_t bytes, size_t alignment) {
  return bytes <= zone.block_size() && alignment <= zone.alignment();
}

// Throws std::bad_alloc: out of line, in the library (built with
// exceptions), so the adapters' headers compile under -fno-exceptions too;
// there an exhausted zone terminates the program.
[[noreturn]] void ThrowBadAlloc();

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_ADAPTER_ROUTING_H_
