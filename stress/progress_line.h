// SPDX-License-Identifier: Apache-2.0
// ProgressLine prints one line a second while a stress run goes: ops/s,
// live blocks, overflow slabs, extensions, permanent bytes against the
// budget, and the process's RSS, so a long run shows whether it still moves
// and whether memory comes back. It samples the budget too.

#ifndef ZONEALLOC_STRESS_PROGRESS_LINE_H_
#define ZONEALLOC_STRESS_PROGRESS_LINE_H_

#include <cstdint>
#include <stop_token>
#include <thread>

#include "stress/stress_state.h"

namespace zonealloc::stress {

// Bytes resident now (/proc/self/statm); 0 when unreadable.
uint64_t CurrentRssBytes();

class ProgressLine {
 public:
  explicit ProgressLine(StressState& state);  // starts the thread
  ~ProgressLine();                            // stops and joins
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void Run(std::stop_token stop);

  StressState& state_;
  std::jthread thread_;  // last: asked to stop and joined first
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_PROGRESS_LINE_H_
