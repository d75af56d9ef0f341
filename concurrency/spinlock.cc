// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/spinlock.h>

#include <algorithm>
#include <thread>

#include <zonealloc/concurrency/cpu_relax.h>
#include <zonealloc/internal/checks.h>

namespace zonealloc {

namespace {
// Backoff doubles from 1 to kMaxPausesPerRound pause instructions; after
// kRoundsBeforeYield rounds the waiter yields its CPU on every round, since
// the holder is then most likely preempted rather than just busy.
constexpr int kMaxPausesPerRound = 64;
constexpr int kRoundsBeforeYield = 16;
}  // namespace

void SpinLock::SlowLock() {
  int pauses = 1;
  for (int round = 0;; ++round) {
    if (round < kRoundsBeforeYield) {
      for (int i = 0; i < pauses; ++i) CpuRelax();
      pauses = std::min(pauses * 2, kMaxPausesPerRound);
    } else {
      std::this_thread::yield();
    }
    if (TryLock()) return;
  }
}

void SpinLock::CrashNotHeld() { internal::Crash("SpinLock::AssertHeld(): the lock is not held"); }

}  // namespace zonealloc
