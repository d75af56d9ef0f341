// SPDX-License-Identifier: Apache-2.0
// StressConfig is one stress run's settings, filled from the command-line
// flags (zone_stress.cc), so the pieces of the run take plain values and do
// not each read flags.

#ifndef ZONEALLOC_STRESS_STRESS_CONFIG_H_
#define ZONEALLOC_STRESS_STRESS_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include <zonealloc/zone_options.h>
#include "stress/handoff_queue.h"

namespace zonealloc::stress {

struct StressConfig {
  CpuCacheMode mode = CpuCacheMode::kFallback;
  int threads = 8;
  double seconds = 10;    // 0: no time limit (then ops must be set)
  uint64_t ops = 0;       // Allocate() and Free() calls; 0: no op limit
  uint64_t seed = 1;
  int zones = 2;
  size_t block_size = 64;
  size_t initial_blocks = 1024;
  uint64_t budget_bytes = 512 << 10;
  size_t queue_capacity = 1 << 16;
  HandoffKind handoff = HandoffKind::kTbb;
  int burst_every = 64;        // one round in this many is a big burst
  int max_held = 64;           // blocks a worker keeps across rounds
  int migrate_every = 256;     // rounds between sched_setaffinity moves
  int churn_ms = 20;           // a worker is replaced this often (0: never)
  int drain_every_ms = 5;      // the Drain()/Stats() thread's period (0: none)
  int fork_every_ms = 200;     // the forker's period (0: no fork)
  int fork_timeout_s = 30;     // a child slower than this hung
  bool progress = true;        // a line each second
  // Test of the checker itself: one worker overwrites one stamp, as a second
  // owner of the block would; the run must report a violation.
  bool inject_stamp_fault = false;
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_STRESS_CONFIG_H_
