// SPDX-License-Identifier: Apache-2.0
// ForkChecker forks the process periodically while the workers run, to check
// zonealloc's promise that a child forked from a busy multithreaded process
// can use every zone. Each child allocates and frees a few stamped blocks
// from every zone and _exit()s; the parent waits for it with a timeout and
// reports a child that hangs (an inherited lock) or fails as a violation.

#ifndef ZONEALLOC_STRESS_FORK_CHECKER_H_
#define ZONEALLOC_STRESS_FORK_CHECKER_H_

#include <stop_token>
#include <thread>

#include "stress/stress_state.h"

namespace zonealloc::stress {

class ForkChecker {
 public:
  // Starts the forking thread; config.fork_every_ms must be > 0.
  explicit ForkChecker(StressState& state);
  // Stops and joins, after the child in flight (if any) is reaped.
  ~ForkChecker();
  ForkChecker(const ForkChecker&) = delete;
  ForkChecker& operator=(const ForkChecker&) = delete;

 private:
  void Run(std::stop_token stop);

  StressState& state_;
  std::jthread thread_;  // last: asked to stop and joined first
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_FORK_CHECKER_H_
