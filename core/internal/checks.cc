// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/checks.h>

#include <cstdlib>

#include <zonealloc/internal/stderr_report.h>

namespace zonealloc::internal {

void Crash(std::string_view message) {
  // Not fprintf: on a stderr pipe without a reader it would die of SIGPIPE
  // before the abort, leaving no SIGABRT and no core.
  ReportToStderr("zonealloc: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

}  // namespace zonealloc::internal
