// SPDX-License-Identifier: Apache-2.0
// ZONEALLOC_STATS: where the default service's stats go when the process
// exits, for a look at a program's zones without changing it.
//
//   ZONEALLOC_STATS=stderr      ZoneService::DumpText() on stderr
//   ZONEALLOC_STATS=PATH        DumpText() in the file PATH, replaced
//   ZONEALLOC_STATS=PATH.json   ZoneService::ToJson() in the file PATH.json
//
// "stderr" and ".json" are matched ignoring case; a path is kept as written
// (trimmed; relative to the working directory at exit). A value that names
// no file, one that ends in '/' or is a switch (1, on, true, yes, 0, off,
// false, no), is ignored with a warning (internal/env.h): nothing is
// written.
//
// When: a std::atexit handler, registered as ZoneService::Default() is
// created, so it runs at exit() or on return from main, after the
// destructors of statics constructed later; not on _exit(), abort() or a
// fatal signal. The zones destroyed before it are in the report with their
// final stats (ZoneService::KeepDestroyedZoneStats()). It writes only in
// the process that created the service: a forked child that calls exit()
// writes nothing, so it cannot overwrite its parent's file. A failed open
// or write is reported on stderr, naming the path and the error.
//
// Who should use this: ZoneService::Default(); tests.

#ifndef ZONEALLOC_CORE_INTERNAL_STATS_AT_EXIT_H_
#define ZONEALLOC_CORE_INTERNAL_STATS_AT_EXIT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/zone_service.h>

namespace zonealloc::internal {

enum class StatsFormat { kText, kJson };

struct StatsDestination {
  std::string path;  // empty: stderr
  StatsFormat format = StatsFormat::kText;
};

// Parses a trimmed ZONEALLOC_STATS value. InvalidArgument naming `value`.
absl::StatusOr<StatsDestination> ParseStatsDestination(std::string_view value);

// ZONEALLOC_STATS under the policy of internal/env.h: std::nullopt when
// unset, empty or bad (warned about).
std::optional<StatsDestination> ReadStatsDestination(const Getenv& getenv = nullptr);

// Writes `service`'s stats in the destination's format. The error names the
// path and the system's reason.
absl::Status WriteStats(const ZoneService& service, const StatsDestination& destination);

// If ZONEALLOC_STATS names a destination: makes `service` keep destroyed
// zones' stats and registers the handler that writes them at exit. Call
// once per process (ZoneService::Default() does).
void WriteStatsAtExitIfAsked(ZoneService& service);

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_STATS_AT_EXIT_H_
