// SPDX-License-Identifier: Apache-2.0
// StressWorker is one of the many threads of a stress run: it allocates in
// small rounds and, now and then, in a burst big enough to run a zone full
// (overflow, then extension); stamps every block and records it in the side
// table; keeps a few across rounds; hands about half to other workers through
// the handoff queue and frees what other workers handed it, checking each;
// and moves itself between CPUs. It exists as its own thread object so the
// run can create and destroy workers mid-run.

#ifndef ZONEALLOC_STRESS_STRESS_WORKER_H_
#define ZONEALLOC_STRESS_STRESS_WORKER_H_

#include <sched.h>

#include <cstdint>
#include <stop_token>
#include <thread>

#include "stress/stress_state.h"

namespace zonealloc::stress {

class StressWorker {
 public:
  // Starts the thread. `id` is unique for the run (the blocks' owner),
  // `slot` picks its counters, `allowed` is the CPUs it may move between.
  StressWorker(StressState& state, uint64_t id, int slot, const cpu_set_t& allowed);
  // Asks the thread to stop after its current round, without waiting: a
  // run stopping many workers asks them all first, then joins.
  void RequestStop() { thread_.request_stop(); }
  // Stops and joins (std::jthread's destructor): before it returns, the
  // worker hands every block it still holds to the queue (or frees it when
  // the queue is full).
  ~StressWorker() = default;
  StressWorker(const StressWorker&) = delete;
  StressWorker& operator=(const StressWorker&) = delete;

 private:
  void Run(std::stop_token stop);

  StressState& state_;
  const uint64_t id_;
  SlotCounters& counters_;
  const cpu_set_t allowed_;
  std::jthread thread_;  // last: starts once the fields above are set
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_STRESS_WORKER_H_
