// SPDX-License-Identifier: Apache-2.0
// Crash() with an absl::StrFormat-style message formatted into a buffer on
// the stack. Checks that fire under a zone's locks must not call the heap:
// an operator new served by that zone would wait on the lock its own thread
// holds, and the crash would become a hang. Messages are cut at 511 bytes.
// For the library's .cc files only: it is one of ZONEALLOC_PRIVATE_HEADERS
// (cmake/ZoneallocHeaders.cmake), so it is not installed, and public
// headers include checks.h instead.

#ifndef ZONEALLOC_CORE_INTERNAL_CRASH_FORMAT_H_
#define ZONEALLOC_CORE_INTERNAL_CRASH_FORMAT_H_

#include "absl/strings/str_format.h"
#include <zonealloc/internal/checks.h>

namespace zonealloc::internal {

template <typename... Args>
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void CrashFormat(
    const absl::FormatSpec<Args...>& format, const Args&... args) {
  char message[512];
  // Negative only for a format its arguments do not fit, which GCC builds
  // do not check at compile time (clang builds do): say so rather than
  // print what the buffer held.
  if (absl::SNPrintF(message, sizeof(message), format, args...) < 0) {
    Crash("a crash message that could not be formatted");
  }
  Crash(message);
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_CRASH_FORMAT_H_
