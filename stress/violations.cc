// SPDX-License-Identifier: Apache-2.0
#include "stress/violations.h"

#include <cstdio>

namespace zonealloc::stress {

void Violations::Report(std::string_view where, std::string_view what) {
  // relaxed: only the count matters; the line is written with one fprintf.
  const uint64_t n = count_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n <= kMaxPrinted) {
    std::fprintf(stderr, "VIOLATION #%llu at %.*s: %.*s\n", static_cast<unsigned long long>(n),
                 static_cast<int>(where.size()), where.data(), static_cast<int>(what.size()),
                 what.data());
  } else if (n == kMaxPrinted + 1) {
    std::fprintf(stderr, "VIOLATION: more than %llu; printing no more, still counting\n",
                 static_cast<unsigned long long>(kMaxPrinted));
  }
}

}  // namespace zonealloc::stress
