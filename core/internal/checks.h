// The two tiers of misuse checks: always-on checks for broken invariants
// that would corrupt memory, and debug-only checks for the expensive ones
// (double free). Both print what and where, then abort.
//
// The debug tier is fixed when the library is configured (<zonealloc/config.h>,
// CMake option ZONEALLOC_DEBUG_CHECKS), never by an includer's NDEBUG: the
// inline Allocate()/Free() and the compiled slow paths mark and check the
// same block states, so they must agree.
//
// AddressSanitizer builds of the library (<zonealloc/config.h>'s
// ZONEALLOC_CONFIG_ASAN, from ZONEALLOC_SANITIZER=address) also poison every
// free block: from Free() until Allocate() hands it out again, wherever it
// waits (a CPU cache, the shared zone, an overflow slab), so a read or write
// through a freed pointer stops the program with an ASan report
// ("use-after-poison"). The allocator's own reads and writes of free blocks
// (batch lists, overflow free-list links) unpoison around them. Elsewhere
// PoisonFreeBlock and UnpoisonBlock are empty inline functions.

#ifndef ZONEALLOC_CORE_INTERNAL_CHECKS_H_
#define ZONEALLOC_CORE_INTERNAL_CHECKS_H_

#include <cstddef>
#include <string_view>

#include "absl/base/attributes.h"
#include <zonealloc/config.h>

#if ZONEALLOC_CONFIG_ASAN
// Declares the poisoning functions whatever the includer's flags; its
// ASAN_POISON_MEMORY_REGION macro would follow __SANITIZE_ADDRESS__ instead.
#include <sanitizer/asan_interface.h>
#endif

#if defined(ZONEALLOC_DEBUG_CHECKS)
#error "Set ZONEALLOC_DEBUG_CHECKS when configuring zonealloc (cmake -DZONEALLOC_DEBUG_CHECKS=ON), not per translation unit"
#endif

namespace zonealloc::internal {

inline constexpr bool kDebugChecks = ZONEALLOC_CONFIG_DEBUG_CHECKS != 0;
inline constexpr bool kPoisonFreeBlocks = ZONEALLOC_CONFIG_ASAN != 0;

// Marks [p, p + bytes) as free memory that nobody may touch (ASan builds).
inline void PoisonFreeBlock(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_poison_memory_region(p, bytes);
#else
  static_cast<void>(p);
  static_cast<void>(bytes);
#endif
}

// Makes [p, p + bytes) addressable again: a block handed out, or the
// allocator's own access to a free one (ASan builds).
inline void UnpoisonBlock(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_unpoison_memory_region(p, bytes);
#else
  static_cast<void>(p);
  static_cast<void>(bytes);
#endif
}

// Prints "zonealloc: <message>" to stderr and aborts.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void Crash(std::string_view message);

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_CHECKS_H_
