// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/checks.h>

#include <cstdio>
#include <cstdlib>

namespace zonealloc::internal {

void Crash(std::string_view message) {
  std::fprintf(stderr, "zonealloc: %.*s\n", static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace zonealloc::internal
