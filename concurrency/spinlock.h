// SPDX-License-Identifier: Apache-2.0
// SpinLock guards zonealloc's slow paths: draining CPU caches, creating and
// releasing overflow slabs, and extending a zone. Most of those critical
// sections are a few hundred nanoseconds; the rare ones that map or unmap a
// slab, commit an extension or fence a CPU make one system call. A lock that
// spins briefly beats one that sleeps in the kernel for that mix, as long as
// waiters give way: after a bounded spin a waiter yields its CPU, so the
// holder runs even when threads outnumber CPUs.
//
// Not for general use: a critical section that can block on I/O or another
// lock, or run for long, belongs under absl::Mutex. SpinLock does not queue
// waiters fairly.
//
// Lock word: one std::atomic<bool>, `true` while held. Invariant: only the
// holder stores `false`, and a thread owns the lock exactly when its
// exchange(true) returned `false`.

#ifndef ZONEALLOC_CONCURRENCY_SPINLOCK_H_
#define ZONEALLOC_CONCURRENCY_SPINLOCK_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"

namespace zonealloc {

class ABSL_LOCKABLE SpinLock {
 public:
  // How long a waiter spins, backing off, before it yields its CPU on every
  // round (see spinlock.cc). The default suits the slow paths; a lock whose
  // holder is only ever delayed by preemption on the waiter's own CPU, where
  // spinning cannot help, should spin briefly.
  static constexpr std::chrono::microseconds kDefaultSpin{50};
  static constexpr std::chrono::microseconds kMaxSpin{255};

  SpinLock() = default;
  // A spin past kMaxSpin is cut to it.
  explicit constexpr SpinLock(std::chrono::microseconds spin)
      : spin_us_(static_cast<uint8_t>(
            std::clamp(spin, std::chrono::microseconds(0), kMaxSpin).count())) {}
  std::chrono::microseconds spin() const { return std::chrono::microseconds(spin_us_); }
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  // Tries once inline; on contention waits out of line.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (ABSL_PREDICT_TRUE(TryLock())) return;
    SlowLock();
  }

  // Test-and-test-and-set: the plain load keeps a waiter reading its own
  // cached copy instead of bouncing the line with failed exchanges.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    // relaxed: only a hint; the exchange below is what orders.
    if (locked_.load(std::memory_order_relaxed)) return false;
    // acquire: the holder's reads and writes stay after taking the lock.
    return !locked_.exchange(true, std::memory_order_acquire);
  }

  void Unlock() ABSL_UNLOCK_FUNCTION() {
    // release: the holder's writes are visible to the next holder.
    locked_.store(false, std::memory_order_release);
  }

  // Racy; for assertions only.
  bool IsHeld() const {
    // relaxed: a snapshot that orders nothing.
    return locked_.load(std::memory_order_relaxed);
  }

  // For a caller that holds the lock by a route the thread-safety analysis
  // cannot follow (a flag saying "the caller holds it"): tells the analysis
  // the lock is held from here on, and crashes if nobody holds it. The lock
  // word has no owner, so a lock held by another thread passes. Always on,
  // whatever the includer's NDEBUG: one relaxed load.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {
    if (ABSL_PREDICT_FALSE(!IsHeld())) CrashNotHeld();
  }

 private:
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void SlowLock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD static void CrashNotHeld();

  std::atomic<bool> locked_{false};
  uint8_t spin_us_ = kDefaultSpin.count();
};

// RAII holder: locks in the constructor, unlocks in the destructor.
class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock) : lock_(lock) {
    lock_.Lock();
  }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { lock_.Unlock(); }

  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_SPINLOCK_H_
