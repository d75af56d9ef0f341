// SPDX-License-Identifier: Apache-2.0
// MachineInfo says what a benchmark ran on, for the table's heading, the
// summary JSON and bench/README.md: numbers mean little without the CPU,
// its count, the kernel and the date.

#ifndef ZONEALLOC_BENCH_MACHINE_INFO_H_
#define ZONEALLOC_BENCH_MACHINE_INFO_H_

#include <cstdint>
#include <string>

namespace zonealloc::bench {

struct MachineInfo {
  int cpus = 1;               // online CPUs (nproc)
  std::string cpu_model;      // "model name" of /proc/cpuinfo
  std::string kernel;         // uname -sr
  uint64_t memory_bytes = 0;  // physical memory
  std::string date_utc;       // when the run started, e.g. 2024-05-01 12:00 UTC

  // One line: "2 CPUs, AMD EPYC, Linux 6.1.0, 23.5 GiB, 2024-05-01 12:00 UTC".
  std::string OneLine() const;
};

MachineInfo CurrentMachine();

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_MACHINE_INFO_H_
