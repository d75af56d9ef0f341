// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/spinlock.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <zonealloc/concurrency/cpu_relax.h>
#include <zonealloc/internal/checks.h>

namespace zonealloc {

namespace {
// Backoff doubles from 1 to kMaxPausesPerRound pause instructions for the
// lock's spin time; then the waiter yields its CPU on every round, since the
// holder is then most likely preempted rather than just busy. A yield on a
// CPU shared with other busy threads can cost the waiter a whole time slice
// after the lock is free, so the default spin covers the slow path's longer
// holds too: a drain that fences another CPU (about 25 us on a 2-vCPU VM).
// Timed, not counted: a pause takes from about 10 to 140 cycles by CPU.
constexpr int kMaxPausesPerRound = 64;
}  // namespace

void SpinLock::SlowLock() {
  const auto yield_after =
      std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  int pauses = 1;
  bool spinning = true;
  while (true) {
    if (spinning) {
      for (int i = 0; i < pauses; ++i) CpuRelax();
      pauses = std::min(pauses * 2, kMaxPausesPerRound);
      spinning = std::chrono::steady_clock::now() < yield_after;
    } else {
      std::this_thread::yield();
    }
    if (TryLock()) return;
  }
}

void SpinLock::CrashNotHeld() { internal::Crash("SpinLock::AssertHeld(): the lock is not held"); }

}  // namespace zonealloc
