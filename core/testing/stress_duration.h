// SPDX-License-Identifier: Apache-2.0
// How long a time-bound stress test runs: ZONEALLOC_STRESS_MS when set, else
// the test's own default. The variable is parsed strictly, so a typo such
// as "2s" fails the test instead of running it for 0 ms.
// core/testing/ is <zonealloc/testing/...> in the build tree only.

#ifndef ZONEALLOC_CORE_TESTING_STRESS_DURATION_H_
#define ZONEALLOC_CORE_TESTING_STRESS_DURATION_H_

#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace zonealloc::internal {

// ZONEALLOC_STRESS_MS (whole milliseconds, >= 0) or `fallback` when it is
// unset; InvalidArgument naming the value when it is anything else.
inline absl::StatusOr<std::chrono::milliseconds> StressDuration(
    std::chrono::milliseconds fallback) {
  const char* text = std::getenv("ZONEALLOC_STRESS_MS");
  if (text == nullptr) return fallback;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(text, &ms) || ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ZONEALLOC_STRESS_MS must be a whole number of milliseconds >= 0, got '", text, "'"));
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_STRESS_DURATION_H_
