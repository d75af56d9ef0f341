// SPDX-License-Identifier: Apache-2.0
// How many slots a structure indexed by CPU id needs: the highest CPU id the
// kernel may ever report, plus one.
//
// Who should use this: PerCpuCache::PossibleCpus(), which caches the live
// answer, and tests that build fake sysfs trees. Everything else asks
// PerCpuCache.
//
// Why not get_nprocs_conf(): it counts CPUs, and CPU ids need not be dense.
// A machine whose /sys/devices/system/cpu/possible reads "0-3,8-11" has 8
// CPUs with ids up to 11; sized by the count, CPUs 8 to 11 would have no
// slot. The possible mask also covers CPUs that may be hot-added later, so
// its highest id bounds every id sched_getcpu() or rseq can report while the
// machine runs.

#ifndef ZONEALLOC_CONCURRENCY_POSSIBLE_CPUS_H_
#define ZONEALLOC_CONCURRENCY_POSSIBLE_CPUS_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace zonealloc {

// The largest id limit accepted: more CPUs than any kernel supports
// (CONFIG_NR_CPUS is at most 8192), so a garbage file cannot size a huge
// mapping.
inline constexpr int kMaxCpuIdLimit = 1 << 16;

// Parses the kernel's CPU list format, as in /sys/devices/system/cpu/possible
// ("0-3,8-11", "0", "0-63\n"; whitespace around it is ignored), into the
// highest id listed + 1. InvalidArgument naming the text when it is not such
// a list, or lists an id at or past kMaxCpuIdLimit.
absl::StatusOr<int> ParseCpuIdLimit(std::string_view text);

// The highest possible CPU id + 1, from <root>/sys/devices/system/cpu/possible.
// When that file is missing or malformed (no sysfs in a container, or an
// unexpected format), falls back to get_nprocs_conf(), at least 1. Reads the
// file on every call; PerCpuCache::PossibleCpus() keeps the live answer.
int PossibleCpuIdLimit(std::string_view root = "/");

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_POSSIBLE_CPUS_H_
