// SPDX-License-Identifier: Apache-2.0
#include "bench/machine_info.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace zonealloc::bench {
namespace {

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!absl::StartsWith(line, "model name")) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "unknown CPU";
}

std::string Kernel() {
  utsname name;
  if (uname(&name) != 0) return "unknown kernel";
  return absl::StrFormat("%s %s", name.sysname, name.release);
}

// CPUs this process may run on, as nproc counts them.
int Cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

}  // namespace

std::string MachineInfo::OneLine() const {
  return absl::StrFormat("%d CPUs, %s, %s, %.1f GiB, %s", cpus, cpu_model, kernel,
                         static_cast<double>(memory_bytes) / (1ull << 30), date_utc);
}

MachineInfo CurrentMachine() {
  MachineInfo info;
  info.cpus = Cpus();
  info.cpu_model = CpuModel();
  info.kernel = Kernel();
  info.memory_bytes =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  info.date_utc = absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone());
  return info;
}

}  // namespace zonealloc::bench
