// SPDX-License-Identifier: Apache-2.0
// Must not compile: the check that clang's thread-safety analysis is on and
// sees SpinLock's annotations. Built only by the ctest
// SpinLockAnalysis.RejectsAWriteWithoutTheLock (ZONEALLOC_THREAD_SAFETY_ANALYSIS
// builds), which passes when the compiler names the write below.

#include <zonealloc/concurrency/spinlock.h>

namespace zonealloc {

struct GuardedCounter {
  SpinLock lock;
  int value ABSL_GUARDED_BY(lock) = 0;
};

void IncrementUnderTheLock(GuardedCounter& counter) {
  SpinLockHolder hold(counter.lock);
  ++counter.value;
}

// The violation: error "writing variable 'value' requires holding mutex
// 'counter.lock' exclusively".
void IncrementWithoutTheLock(GuardedCounter& counter) { ++counter.value; }

}  // namespace zonealloc
