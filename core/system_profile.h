// SPDX-License-Identifier: Apache-2.0
// SystemProfile describes the machine a zone is sized for, in the terms of
// the NT zone-buffer guidelines: how much memory is available (the memory
// class that MmQuerySystemSize reports) and whether the machine plays a
// server or a workstation role (MmIsThisAnNtAsSystem).
//
// Zones with `initial_blocks = 0` and the default ZoneService budget are
// sized from SystemProfile::Current(). Tests build profiles by hand, or
// detect one from a fake file tree through SystemProbe, so nothing depends
// on the machine the tests run on.

#ifndef ZONEALLOC_CORE_SYSTEM_PROFILE_H_
#define ZONEALLOC_CORE_SYSTEM_PROFILE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zonealloc {

// MmQuerySystemSize's answer, from usable memory (physical memory, or the
// cgroup limit when that is lower):
//   kSmall   below 4 GiB
//   kMedium  4 GiB up to 32 GiB
//   kLarge   32 GiB and above
enum class MemoryClass { kSmall, kMedium, kLarge };

// MmIsThisAnNtAsSystem's answer. Set by SystemProbe::role (an option), else
// by the environment variable ZONEALLOC_ROLE ("server" or "workstation", any
// case), else kWorkstation: the modest choice the guidelines ask for. Any
// other ZONEALLOC_ROLE is ignored with a warning on stderr, as for every
// zonealloc variable (see internal/env.h), and gives kWorkstation.
enum class SystemRole { kWorkstation, kServer };

std::string_view MemoryClassName(MemoryClass memory_class);  // "small", ...
std::string_view SystemRoleName(SystemRole role);             // "server", ...

// Parses "server" or "workstation" (case-insensitive); InvalidArgument
// naming the value otherwise.
absl::StatusOr<SystemRole> ParseSystemRole(std::string_view text);

// Where Detect() looks. The defaults read the live machine; tests point
// `root` at a temporary tree holding proc/meminfo, proc/self/cgroup and
// sys/fs/cgroup/..., and replace `getenv` and `affinity_cpus`.
struct SystemProbe {
  std::string root = "/";
  std::function<std::optional<std::string>(std::string_view name)> getenv;  // null: ::getenv
  std::function<int()> affinity_cpus;  // null: CPUs in sched_getaffinity()
  std::optional<SystemRole> role;      // set: overrides ZONEALLOC_ROLE
};

struct SystemProfile {
  uint64_t physical_memory_bytes = 0;      // MemTotal of proc/meminfo
  uint64_t cgroup_memory_limit_bytes = 0;  // lowest limit on the path, 0: none
  int usable_cpus = 1;                     // affinity mask, capped by cgroup cpu.max
  SystemRole role = SystemRole::kWorkstation;

  // min(physical, cgroup limit) ignoring a zero limit.
  uint64_t usable_memory_bytes() const;
  MemoryClass memory_class() const;

  // "medium workstation, 24.0 GiB usable of 24.0 GiB, 2 CPUs"
  std::string DebugString() const;

  // Reads the machine through `probe`. Missing cgroup files mean "no limit";
  // a missing, unreadable or malformed proc/meminfo, an unreadable
  // proc/self/cgroup, or a cgroup limit file that is unreadable or
  // malformed, is an error naming the file (the first, where there are
  // several). A bad ZONEALLOC_ROLE is not an error: it is warned about and
  // the rest detected with kWorkstation.
  static absl::StatusOr<SystemProfile> Detect(const SystemProbe& probe = {});

  // As Detect(), but each part that cannot be read falls back on its own,
  // its error appended to `problems` (REQUIRES: not null): physical memory
  // to 16 GiB (a medium machine); an unreadable or malformed memory limit
  // file to a 16 GiB limit (in a container proc/meminfo shows the host's
  // memory); an unreadable or malformed cpu.max to no quota (the affinity
  // mask stands); an unreadable proc/self/cgroup to no cgroup. The other
  // files, and the other levels of the same hierarchy, are still read.
  static SystemProfile DetectWithFallbacks(const SystemProbe& probe,
                                           std::vector<absl::Status>* problems);

  // The live machine, detected once per process by DetectWithFallbacks();
  // each problem is reported on stderr, once.
  static const SystemProfile& Current();
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_SYSTEM_PROFILE_H_
