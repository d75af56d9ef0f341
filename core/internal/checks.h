// The two tiers of misuse checks (see style.md): always-on checks for broken
// invariants that would corrupt memory, and debug-only checks for the
// expensive ones (double free). Both print what and where, then abort.
//
// Debug checks are on unless NDEBUG is defined; -DZONEALLOC_DEBUG_CHECKS=0
// or =1 overrides that.

#ifndef ZONEALLOC_CORE_INTERNAL_CHECKS_H_
#define ZONEALLOC_CORE_INTERNAL_CHECKS_H_

#include <string_view>

#include "absl/base/attributes.h"

namespace zonealloc::internal {

#if defined(ZONEALLOC_DEBUG_CHECKS)
inline constexpr bool kDebugChecks = ZONEALLOC_DEBUG_CHECKS;
#elif defined(NDEBUG)
inline constexpr bool kDebugChecks = false;
#else
inline constexpr bool kDebugChecks = true;
#endif

// Prints "zonealloc: <message>" to stderr and aborts.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void Crash(std::string_view message);

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_CHECKS_H_
