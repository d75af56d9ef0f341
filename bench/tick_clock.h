// SPDX-License-Identifier: Apache-2.0
// TickClock times one Allocate() or Free() call, which takes nanoseconds:
// too short for a steady-clock read (about 20 ns through the vDSO) to time
// without swamping it. On x86-64 it reads the time-stamp counter between two
// lfence instructions (a few ns; the CPU must have an invariant TSC, as every
// x86-64 server of the last decade does); elsewhere it falls back to the
// steady clock. Ticks become nanoseconds through a calibration against the
// steady clock over the clock's own lifetime.
//
// Used by the scenario benchmark's latency samples only; throughput is timed
// with the steady clock.

#ifndef ZONEALLOC_BENCH_TICK_CLOCK_H_
#define ZONEALLOC_BENCH_TICK_CLOCK_H_

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace zonealloc::bench {

class TickClock {
 public:
  // Starts the calibration and measures the cost of one Now()-Now() pair.
  TickClock();

  // The current tick count. The fences keep the timed call from moving
  // across the reads.
  static uint64_t Now() {
#if defined(__x86_64__)
    _mm_lfence();
    const uint64_t ticks = __rdtsc();
    _mm_lfence();
    return ticks;
#else
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
#endif
  }

  // Ticks from `start` to `end`, less the cost of reading the clock twice.
  uint64_t Elapsed(uint64_t start, uint64_t end) const {
    const uint64_t ticks = end - start;
    return ticks > overhead_ticks_ ? ticks - overhead_ticks_ : 0;
  }

  uint64_t overhead_ticks() const { return overhead_ticks_; }

  // Nanoseconds per tick, from the ticks and steady-clock time since
  // construction. Waits until at least 10 ms have passed since then, so call
  // it after the measured run, not before.
  double NanosPerTick() const;

 private:
  std::chrono::steady_clock::time_point start_time_;
  uint64_t start_ticks_;
  uint64_t overhead_ticks_;
};

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_TICK_CLOCK_H_
