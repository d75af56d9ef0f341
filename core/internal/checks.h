// SPDX-License-Identifier: Apache-2.0
// The two tiers of misuse checks: always-on checks for broken invariants
// that would corrupt memory, and debug-only checks for the expensive ones
// (double free). Both print what and where, then abort.
//
// The debug tier is fixed when the library is configured (<zonealloc/config.h>,
// CMake option ZONEALLOC_DEBUG_CHECKS), never by an includer's NDEBUG: the
// inline Allocate()/Free() and the compiled slow paths mark and check the
// same block states, so they must agree.
//
// Memory checkers (AddressSanitizer, Valgrind's memcheck) are told which
// blocks are free, so a read or write through a freed pointer is reported
// too: see internal/memcheck_hooks.h, included here.

#ifndef ZONEALLOC_CORE_INTERNAL_CHECKS_H_
#define ZONEALLOC_CORE_INTERNAL_CHECKS_H_

#include <cstddef>
#include <string_view>

#include "absl/base/attributes.h"
#include <zonealloc/config.h>
#include <zonealloc/internal/memcheck_hooks.h>

#if defined(ZONEALLOC_DEBUG_CHECKS)
#error "Set ZONEALLOC_DEBUG_CHECKS when configuring zonealloc (cmake -DZONEALLOC_DEBUG_CHECKS=ON), not per translation unit"
#endif

namespace zonealloc::internal {

inline constexpr bool kDebugChecks = ZONEALLOC_CONFIG_DEBUG_CHECKS != 0;

// Prints "zonealloc: <message>" to stderr and aborts.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void Crash(std::string_view message);

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_CHECKS_H_
