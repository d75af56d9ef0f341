// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/system_profile.h>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr internal::EnvVariable kRoleVariable = {
    .name = "ZONEALLOC_ROLE",
    .expected = "a system role (use server or workstation)",
    .instead = "workstation",
};

// cgroup v1 reports "no limit" as a page-rounded LONG_MAX; anything this
// large cannot be a real limit.
constexpr uint64_t kCgroupV1Unlimited = uint64_t{1} << 60;

// The physical memory assumed when proc/meminfo cannot be read: the middle
// of the guidelines' table, so defaults stay modest without starving the zone.
constexpr uint64_t kFallbackMemoryBytes = 16 * kGiB;

// Debian's Abseil keeps its own absl::string_view, distinct from the
// std::string_view of the public API; this converts at that boundary.
absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Joins two path pieces with exactly one '/', so a root of "/" or "/tmp/x/"
// and a relative part with or without a leading '/' all give clean paths
// (error messages show them).
std::string JoinPath(absl::string_view base, absl::string_view rest) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return absl::StrCat(base, "/", rest);
}

// The whole file, NotFound when it (or a directory on its path) is missing,
// or another error naming `path`. Reads to EOF because proc and cgroup files
// report a size of zero.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    }
    return absl::ErrnoToStatus(error, path);
  }
  std::string contents;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      contents.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, path);
    }
  }
  ::close(fd);
  return contents;
}

// Like ReadFile, but a missing file is std::nullopt: absent cgroup files
// mean "no limit" rather than an error.
absl::StatusOr<std::optional<std::string>> ReadOptionalFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (absl::IsNotFound(contents.status())) return std::nullopt;
  if (!contents.ok()) return contents.status();
  return std::optional<std::string>(*std::move(contents));
}

// A file that exists but does not say what it should: name it and the problem.
absl::Status Malformed(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// MemTotal of a meminfo file ("MemTotal:   16384 kB"), in bytes.
absl::StatusOr<uint64_t> ParseMemTotal(absl::string_view meminfo, const std::string& path) {
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemTotal:")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    uint64_t kib = 0;
    if (fields.size() != 2 || fields[1] != "kB" || !absl::SimpleAtoi(fields[0], &kib) ||
        kib > std::numeric_limits<uint64_t>::max() / 1024) {
      return Malformed(path, absl::StrCat("bad MemTotal line \"MemTotal:", line, "\""));
    }
    return kib * 1024;
  }
  return Malformed(path, "no MemTotal line");
}

// Where a process sits in the cgroup hierarchies, from proc/self/cgroup.
// Paths are relative to the hierarchy's mount; unset when not listed.
struct CgroupPaths {
  std::optional<std::string> unified;    // v2: "0::/path"
  std::optional<std::string> memory_v1;  // v1: "N:...memory...:/path"
};

// Lines are "hierarchy-id:controllers:path"; the path may itself hold ':'.
CgroupPaths ParseCgroupFile(absl::string_view contents) {
  CgroupPaths paths;
  for (absl::string_view line : absl::StrSplit(contents, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    if (fields[0] == "0" && fields[1].empty()) {
      paths.unified = std::string(fields[2]);
    } else {
      for (absl::string_view controller : absl::StrSplit(fields[1], ',')) {
        if (controller == "memory") paths.memory_v1 = std::string(fields[2]);
      }
    }
  }
  return paths;
}

// `cgroup` and each ancestor up to the hierarchy root, innermost first, as
// relative paths ("a/b", "a", ""). A limit set on any ancestor applies too.
// A path with ".." lies outside this process's cgroup namespace, so its
// files cannot be found under the mount: no directories, hence no limit.
std::vector<std::string> CgroupAndAncestors(absl::string_view cgroup) {
  std::vector<absl::string_view> parts = absl::StrSplit(cgroup, '/', absl::SkipEmpty());
  if (std::find(parts.begin(), parts.end(), "..") != parts.end()) return {};
  std::vector<std::string> dirs;
  for (size_t n = parts.size() + 1; n-- > 0;) {
    dirs.push_back(absl::StrJoin(parts.begin(), parts.begin() + n, "/"));
  }
  return dirs;
}

// A limit read from a cgroup file; std::nullopt means none.
using Limit = std::optional<uint64_t>;

// Lowers `lowest` to `candidate` when that is set and lower.
void KeepLowest(Limit& lowest, Limit candidate) {
  if (candidate && (!lowest || *candidate < *lowest)) lowest = candidate;
}

// Reads one limit file's contents; std::nullopt means "no limit here".
using LimitParser = absl::StatusOr<Limit> (*)(absl::string_view contents, const std::string& path);

// The lowest limit that `file` sets on `cgroup` or its ancestors under the
// hierarchy mounted at `mount`; std::nullopt when none sets one. A file
// that exists but cannot be read or parsed counts as `unreadable_as`, and
// its error goes to `problems`; the other levels are still read.
Limit LowestLimit(const std::string& mount, absl::string_view cgroup, absl::string_view file,
                  LimitParser parse, Limit unreadable_as, std::vector<absl::Status>* problems) {
  Limit lowest;
  for (const std::string& dir : CgroupAndAncestors(cgroup)) {
    const std::string path = JoinPath(JoinPath(mount, dir), file);
    absl::StatusOr<std::optional<std::string>> contents = ReadOptionalFile(path);
    if (contents.ok() && !contents->has_value()) continue;
    absl::StatusOr<Limit> limit = contents.ok() ? parse(**contents, path) : contents.status();
    if (!limit.ok()) {
      problems->push_back(limit.status());
      KeepLowest(lowest, unreadable_as);
      continue;
    }
    KeepLowest(lowest, *limit);
  }
  return lowest;
}

// v2 memory.max: bytes, or "max" for none.
absl::StatusOr<Limit> ParseMemoryMax(absl::string_view contents, const std::string& path) {
  contents = absl::StripAsciiWhitespace(contents);
  if (contents == "max") return std::nullopt;
  uint64_t bytes = 0;
  if (!absl::SimpleAtoi(contents, &bytes)) {
    return Malformed(path, absl::StrCat("bad memory limit \"", contents, "\""));
  }
  return bytes;
}

// v1 memory.limit_in_bytes: bytes, where "unlimited" is a huge number.
absl::StatusOr<Limit> ParseLimitInBytes(absl::string_view contents, const std::string& path) {
  uint64_t bytes = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(contents), &bytes)) {
    return Malformed(
        path, absl::StrCat("bad memory limit \"", absl::StripAsciiWhitespace(contents), "\""));
  }
  if (bytes >= kCgroupV1Unlimited) return std::nullopt;
  return bytes;
}

// v2 cpu.max: "quota period" in microseconds, or "max period" for none.
// A quota of 1.5 periods still needs two CPUs' worth of threads, so round up.
absl::StatusOr<Limit> ParseCpuMax(absl::string_view contents, const std::string& path) {
  std::vector<absl::string_view> fields = absl::StrSplit(contents, ' ', absl::SkipWhitespace());
  if (!fields.empty() && fields[0] == "max") return std::nullopt;
  uint64_t quota = 0;
  uint64_t period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period) || period == 0) {
    return Malformed(path,
                     absl::StrCat("bad cpu.max \"", absl::StripAsciiWhitespace(contents), "\""));
  }
  return std::max<uint64_t>(1, quota / period + (quota % period != 0));
}

// The lowest memory limit over every hierarchy that has one, 0 for none.
// An unreadable limit file counts as kFallbackMemoryBytes: in a container,
// proc/meminfo shows the host's memory, so "no limit" could size zones for
// a machine the process does not have.
uint64_t CgroupMemoryLimit(const std::string& cgroup_mount, const CgroupPaths& paths,
                           std::vector<absl::Status>* problems) {
  Limit lowest;
  if (paths.unified) {
    KeepLowest(lowest, LowestLimit(cgroup_mount, *paths.unified, "memory.max", ParseMemoryMax,
                                   kFallbackMemoryBytes, problems));
  }
  if (paths.memory_v1) {
    KeepLowest(lowest, LowestLimit(JoinPath(cgroup_mount, "memory"), *paths.memory_v1,
                                   "memory.limit_in_bytes", ParseLimitInBytes,
                                   kFallbackMemoryBytes, problems));
  }
  return lowest.value_or(0);
}

// CPUs this thread may run on. Grows the mask past the 1024 CPUs of a plain
// cpu_set_t on bigger machines; falls back to the online count.
int AffinityCpus() {
  for (int cpus = 1024; cpus <= (1 << 20); cpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(cpus);
    if (set == nullptr) break;
    const size_t size = CPU_ALLOC_SIZE(cpus);
    if (sched_getaffinity(0, size, set) == 0) {
      const int count = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return count;
    }
    const int error = errno;
    CPU_FREE(set);
    if (error != EINVAL) break;
  }
  return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
}

// Usable CPUs: `cpus` (the affinity mask), capped by the cgroup v2 CPU
// quota. An unreadable cpu.max caps nothing: the mask is a real bound.
int UsableCpus(int cpus, const std::string& cgroup_mount, const CgroupPaths& paths,
               std::vector<absl::Status>* problems) {
  if (!paths.unified) return cpus;
  const Limit quota = LowestLimit(cgroup_mount, *paths.unified, "cpu.max", ParseCpuMax,
                                  /*unreadable_as=*/std::nullopt, problems);
  return static_cast<int>(std::min<uint64_t>(cpus, quota.value_or(cpus)));
}

// The role: probe.role, else ZONEALLOC_ROLE, else workstation. A role the
// variable does not name is warned about (see internal/env.h) and gives
// workstation; the rest of the profile is detected all the same.
SystemRole DetectRole(const SystemProbe& probe) {
  if (probe.role) return *probe.role;
  return internal::ReadEnv(kRoleVariable, ParseSystemRole, probe.getenv)
      .value_or(SystemRole::kWorkstation);
}

// "24.0 GiB": one decimal is enough to tell the memory classes apart.
std::string FormatGiB(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / static_cast<double>(kGiB));
}

}  // namespace

std::string_view MemoryClassName(MemoryClass memory_class) {
  switch (memory_class) {
    case MemoryClass::kSmall:
      return "small";
    case MemoryClass::kMedium:
      return "medium";
    case MemoryClass::kLarge:
      return "large";
  }
  return "unknown";
}

std::string_view SystemRoleName(SystemRole role) {
  switch (role) {
    case SystemRole::kWorkstation:
      return "workstation";
    case SystemRole::kServer:
      return "server";
  }
  return "unknown";
}

absl::StatusOr<SystemRole> ParseSystemRole(std::string_view std_text) {
  const absl::string_view text = ToAbsl(std_text);
  if (absl::EqualsIgnoreCase(text, "server")) return SystemRole::kServer;
  if (absl::EqualsIgnoreCase(text, "workstation")) return SystemRole::kWorkstation;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown system role \"", text, "\"; expected \"server\" or \"workstation\""));
}

uint64_t SystemProfile::usable_memory_bytes() const {
  if (cgroup_memory_limit_bytes == 0) return physical_memory_bytes;
  return std::min(physical_memory_bytes, cgroup_memory_limit_bytes);
}

MemoryClass SystemProfile::memory_class() const {
  const uint64_t usable = usable_memory_bytes();
  if (usable < 4 * kGiB) return MemoryClass::kSmall;
  if (usable < 32 * kGiB) return MemoryClass::kMedium;
  return MemoryClass::kLarge;
}

std::string SystemProfile::DebugString() const {
  return absl::StrFormat("%s %s, %s usable of %s, %d CPU%s", MemoryClassName(memory_class()),
                         SystemRoleName(role), FormatGiB(usable_memory_bytes()),
                         FormatGiB(physical_memory_bytes), usable_cpus,
                         usable_cpus == 1 ? "" : "s");
}

SystemProfile SystemProfile::DetectWithFallbacks(const SystemProbe& probe,
                                                 std::vector<absl::Status>* problems) {
  SystemProfile profile;
  const std::string meminfo_path = JoinPath(probe.root, "proc/meminfo");
  absl::StatusOr<uint64_t> physical = [&]() -> absl::StatusOr<uint64_t> {
    absl::StatusOr<std::string> meminfo = ReadFile(meminfo_path);
    if (!meminfo.ok()) return meminfo.status();
    return ParseMemTotal(*meminfo, meminfo_path);
  }();
  if (physical.ok()) {
    profile.physical_memory_bytes = *physical;
  } else {
    problems->push_back(physical.status());
    profile.physical_memory_bytes = kFallbackMemoryBytes;
  }

  // Without proc/self/cgroup no cgroup is known: no limits.
  absl::StatusOr<std::optional<std::string>> cgroup_file =
      ReadOptionalFile(JoinPath(probe.root, "proc/self/cgroup"));
  if (!cgroup_file.ok()) problems->push_back(cgroup_file.status());
  const CgroupPaths paths =
      ParseCgroupFile(cgroup_file.ok() ? cgroup_file->value_or("") : std::string());
  const std::string cgroup_mount = JoinPath(probe.root, "sys/fs/cgroup");

  profile.cgroup_memory_limit_bytes = CgroupMemoryLimit(cgroup_mount, paths, problems);
  const int affinity = std::max(1, probe.affinity_cpus ? probe.affinity_cpus() : AffinityCpus());
  profile.usable_cpus = UsableCpus(affinity, cgroup_mount, paths, problems);

  profile.role = DetectRole(probe);
  return profile;
}

absl::StatusOr<SystemProfile> SystemProfile::Detect(const SystemProbe& probe) {
  std::vector<absl::Status> problems;
  SystemProfile profile = DetectWithFallbacks(probe, &problems);
  if (!problems.empty()) return problems.front();
  return profile;
}

const SystemProfile& SystemProfile::Current() {
  // SystemProfile is trivially destructible, so a plain static is safe to
  // use from other statics' destructors.
  static const SystemProfile current = [] {
    std::vector<absl::Status> problems;
    SystemProfile profile = DetectWithFallbacks({}, &problems);
    for (const absl::Status& problem : problems) {
      internal::ReportToStderr("zonealloc: system profile: %s; assuming %s\n",
                               problem.ToString().c_str(), profile.DebugString().c_str());
    }
    return profile;
  }();
  return current;
}

}  // namespace zonealloc
