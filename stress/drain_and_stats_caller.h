// SPDX-License-Identifier: Apache-2.0
// DrainAndStatsCaller calls Drain(), Stats() and the service's Snapshot() on
// a thread of its own while the workers run: those callers take the
// slow-path lock and empty other CPUs' caches, and must be safe at any
// moment. It also samples the budget (permanent_bytes <= budget_bytes) each
// time.

#ifndef ZONEALLOC_STRESS_DRAIN_AND_STATS_CALLER_H_
#define ZONEALLOC_STRESS_DRAIN_AND_STATS_CALLER_H_

#include <stop_token>
#include <thread>

#include "stress/stress_state.h"

namespace zonealloc::stress {

class DrainAndStatsCaller {
 public:
  // Starts the thread; config.drain_every_ms must be > 0.
  explicit DrainAndStatsCaller(StressState& state);
  ~DrainAndStatsCaller();  // stops and joins
  DrainAndStatsCaller(const DrainAndStatsCaller&) = delete;
  DrainAndStatsCaller& operator=(const DrainAndStatsCaller&) = delete;

 private:
  void Run(std::stop_token stop);

  StressState& state_;
  std::jthread thread_;  // last: asked to stop and joined first
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_DRAIN_AND_STATS_CALLER_H_
