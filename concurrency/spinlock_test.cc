// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/spinlock.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/test_threads.h>

namespace zonealloc {
namespace {

TEST(SpinLockTest, TryLockFailsWhileHeld) {
  SpinLock lock;
  EXPECT_FALSE(lock.IsHeld());
  ASSERT_TRUE(lock.TryLock());
  // The thread-safety analysis cannot see a TryLock() inside ASSERT_TRUE.
  lock.AssertHeld();
  EXPECT_TRUE(lock.IsHeld());
  EXPECT_FALSE(lock.TryLock());
  lock.Unlock();
  EXPECT_FALSE(lock.IsHeld());
  ASSERT_TRUE(lock.TryLock());
  lock.AssertHeld();
  lock.Unlock();
}

TEST(SpinLockDeathTest, AssertHeldCrashesWhenNobodyHoldsTheLock) {
  SpinLock lock;
  EXPECT_DEATH(lock.AssertHeld(), "zonealloc: SpinLock::AssertHeld\\(\\): the lock is not held");
}

TEST(SpinLockTest, HolderReleasesAtEndOfScope) {
  SpinLock lock;
  {
    SpinLockHolder holder(lock);
    EXPECT_TRUE(lock.IsHeld());
  }
  EXPECT_FALSE(lock.IsHeld());
}

// A counter guarded by the lock. Many more threads than CPUs, so holders are
// preempted mid-section and waiters must reach the yielding backoff.
struct GuardedCounter {
  SpinLock lock;
  uint64_t value ABSL_GUARDED_BY(lock) = 0;
  // Two words updated together: a torn update shows as a mismatch.
  uint64_t shadow ABSL_GUARDED_BY(lock) = 0;
};

TEST(SpinLockTest, SpinTimesAreTheDefaultOrTheOneAskedForUpToTheMost) {
  EXPECT_EQ(SpinLock().spin(), SpinLock::kDefaultSpin);
  EXPECT_EQ(SpinLock(std::chrono::microseconds(2)).spin(), std::chrono::microseconds(2));
  EXPECT_EQ(SpinLock(std::chrono::seconds(1)).spin(), SpinLock::kMaxSpin) << "cut, not wrapped";
}

// Each spin time: the default, and none, where every waiter yields at once.
class SpinLockContentionTest : public ::testing::TestWithParam<int> {};

TEST_P(SpinLockContentionTest, ManyThreadsIncrementingAGuardedCounterLoseNoUpdate) {
  const int kThreads = internal::TestThreads(4);
  constexpr int kIncrementsPerThread = 20000;
  GuardedCounter counter{.lock = SpinLock(std::chrono::microseconds(GetParam()))};
  bool torn = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        SpinLockHolder holder(counter.lock);
        if (counter.value != counter.shadow) torn = true;
        ++counter.value;
        ++counter.shadow;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  SpinLockHolder holder(counter.lock);
  EXPECT_FALSE(torn);
  EXPECT_EQ(counter.value, static_cast<uint64_t>(kThreads) * kIncrementsPerThread);
}

INSTANTIATE_TEST_SUITE_P(SpinTimes, SpinLockContentionTest,
                         ::testing::Values(static_cast<int>(SpinLock::kDefaultSpin.count()), 0),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "Spin" + std::to_string(info.param) + "us";
                         });

}  // namespace
}  // namespace zonealloc
