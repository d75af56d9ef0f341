// SPDX-License-Identifier: Apache-2.0
// RunTeam runs a scenario's threads so that they start together and stop
// together, and measures the time between. Without it each scenario would
// repeat the same start gate, stop flag and timing, and get them subtly
// different.
//
//   absl::Duration timed = RunTeam(threads, absl::Milliseconds(250),
//       [&](int thread, RunControl& control) {
//         ...set up (not timed)...
//         control.ArriveAndWaitForStart();
//         for (int64_t done = 0; control.KeepRunning(done, quota); done += n) {
//           ...work: n ops...
//         }
//         control.MarkTimedEnd(thread);
//         ...tear down (not timed)...
//       });
//
// With `cpus`, thread i runs only on CPU cpus[i] (DealCpus() makes such a
// list), so every contender of a cell gets the same placement. Without, the
// kernel places the threads, and a cell with more threads than CPUs can land
// differently from run to run (see bench/README.md, "Thread placement").
//
// With a finite duration, StopRequested() turns true once it has passed.
// With absl::InfiniteDuration() it never does: each thread stops at its own
// quota (the --ops mode).

#ifndef ZONEALLOC_BENCH_THREAD_TEAM_H_
#define ZONEALLOC_BENCH_THREAD_TEAM_H_

#include <zonealloc/concurrency/cache_aligned.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace zonealloc::bench {

class RunControl {
 public:
  explicit RunControl(int threads);

  // Called once by each thread when its set-up is done; returns when every
  // thread has arrived and the run's clock has started.
  void ArriveAndWaitForStart();

  // True once the duration has passed. One relaxed load: cheap enough to
  // call every few operations.
  bool StopRequested() const {
    // relaxed: only ends the loop; the join publishes the threads' results.
    return stop_->load(std::memory_order_relaxed);
  }

  // Whether a thread that has done `done` of its `quota` ops goes on: until
  // the quota or the stop, but always through its first round (done == 0),
  // so a thread the scheduler starts only after the stop still measures
  // something. REQUIRES: each round adds to `done`.
  bool KeepRunning(int64_t done, int64_t quota) const {
    return done == 0 || (done < quota && !StopRequested());
  }

  // Called once by each thread when its timed work is done.
  void MarkTimedEnd(int thread);

 private:
  friend absl::Duration RunTeam(int threads, absl::Duration duration, std::span<const int> cpus,
                                absl::FunctionRef<void(int, RunControl&)> body);
  using Clock = std::chrono::steady_clock;

  CacheAligned<std::atomic<int>> arrived_{0};
  CacheAligned<std::atomic<bool>> started_{false};
  CacheAligned<std::atomic<bool>> stop_{false};
  Clock::time_point start_time_;
  std::vector<Clock::time_point> end_times_;  // one per thread; each writes its own
};

// Runs body(thread_index, control) on `threads` threads and returns the time
// from the start to the last MarkTimedEnd(). Thread i first pins itself to
// cpus[i] when `cpus` is not empty, and aborts with a message if the kernel
// refuses. Aborts, saying so, unless cpus is empty or has `threads` entries.
absl::Duration RunTeam(int threads, absl::Duration duration, std::span<const int> cpus,
                       absl::FunctionRef<void(int, RunControl&)> body);
inline absl::Duration RunTeam(int threads, absl::Duration duration,
                              absl::FunctionRef<void(int, RunControl&)> body) {
  return RunTeam(threads, duration, {}, body);
}

// The CPUs for a team whose thread i takes turn turns[i]: the CPUs the
// calling thread may run on (sched_getaffinity), dealt round-robin in turn
// order, so thread i gets the (turns[i] mod count)-th of them. Aborts with
// a message if the kernel does not say which CPUs those are.
std::vector<int> DealCpus(std::span<const int> turns);
// The same from a given list of CPUs. REQUIRES: allowed is not empty.
std::vector<int> DealCpus(std::span<const int> turns, std::span<const int> allowed);

// The share of `total_ops` for each of `threads` threads (rounded up), or
// "no limit" when total_ops is 0 (the duration decides).
int64_t QuotaPerThread(int64_t total_ops, int threads);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_THREAD_TEAM_H_
