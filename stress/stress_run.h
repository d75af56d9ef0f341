// SPDX-License-Identifier: Apache-2.0
// RunStress runs one stress run in one CPU cache mode, start to end: makes a
// ZoneService with its own budget and the zones, starts the workers, the
// Drain()/Stats() caller, the forker and the progress line, replaces workers
// mid-run, stops at the time or op limit, then quiesces and checks the final
// accounting (see README.md, "What is checked"). It exists apart from main()
// so that flags and the run do not share a file.

#ifndef ZONEALLOC_STRESS_STRESS_RUN_H_
#define ZONEALLOC_STRESS_STRESS_RUN_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "stress/stress_config.h"

namespace zonealloc::stress {

struct StressResult {
  uint64_t ops = 0;
  double seconds = 0;
  uint64_t violations = 0;
  // With --inject_stamp_fault: how many of `violations` were the injected
  // stamp (1 when the checker caught it).
  uint64_t injected_faults_caught = 0;
};

// Prints the progress lines and a summary on stdout and every violation on
// stderr. Returns the status of ZoneService::Create() or CreateZone() when
// the run cannot be set up (InvalidArgument: the library rejects the flags'
// values); that is no violation, and nothing runs.
absl::StatusOr<StressResult> RunStress(const StressConfig& config);

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_STRESS_RUN_H_
