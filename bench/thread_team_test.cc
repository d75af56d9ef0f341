// SPDX-License-Identifier: Apache-2.0
// RunTeam and RunControl: how a scenario's threads start, go on and stop.

#include "bench/thread_team.h"

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

constexpr int64_t kNoQuota = std::numeric_limits<int64_t>::max();

// The rounds each thread ran, `ops_per_round` ops a round.
std::vector<int64_t> RoundsPerThread(int threads, absl::Duration duration, int64_t quota,
                                     int64_t ops_per_round) {
  std::vector<int64_t> rounds(threads);
  RunTeam(threads, duration, [&](int thread, RunControl& control) {
    control.ArriveAndWaitForStart();
    for (int64_t done = 0; control.KeepRunning(done, quota); done += ops_per_round) {
      ++rounds[thread];
    }
    control.MarkTimedEnd(thread);
  });
  return rounds;
}

// A run whose stop comes before a thread is first scheduled still counts
// one round from every thread (a loaded machine starts threads late).
TEST(RunTeamTest, EveryThreadRunsItsFirstRoundEvenAfterTheStop) {
  for (int run = 0; run < 20; ++run) {
    for (int64_t rounds : RoundsPerThread(4, absl::ZeroDuration(), kNoQuota, 1)) {
      EXPECT_GE(rounds, 1) << "run " << run;
    }
  }
}

TEST(RunTeamTest, WithoutADurationEachThreadStopsAtItsQuota) {
  for (int64_t rounds : RoundsPerThread(3, absl::InfiniteDuration(), 5, 2)) {
    EXPECT_EQ(rounds, 3) << "2 + 2 + 2 ops reach a quota of 5";
  }
}

TEST(RunTeamTest, PinnedThreadsRunOnTheCpusDealtToThem) {
  const std::vector<int> cpus = DealCpus(std::vector<int>{0, 1, 2, 3});
  std::vector<int> ran_on(cpus.size(), -1);
  RunTeam(static_cast<int>(cpus.size()), absl::ZeroDuration(), cpus,
          [&](int thread, RunControl& control) {
            control.ArriveAndWaitForStart();
            ran_on[thread] = sched_getcpu();
            control.MarkTimedEnd(thread);
          });
  EXPECT_EQ(ran_on, cpus);
}

TEST(RunTeamTest, CpusAreDealtRoundRobinInTurnOrder) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  const int count = CPU_COUNT(&allowed);
  const std::vector<int> dealt = DealCpus(std::vector<int>{0, 1, count, count + 1});
  EXPECT_EQ(dealt[2], dealt[0]) << "turn `count` comes round to the first CPU again";
  EXPECT_EQ(dealt[3], dealt[1]);
  if (count > 1) {
    EXPECT_NE(dealt[0], dealt[1]);
  }
  for (int cpu : dealt) EXPECT_TRUE(CPU_ISSET(cpu, &allowed)) << cpu;
}

TEST(RunTeamTest, TheQuotaIsTheOpsSharedOutRoundedUp) {
  EXPECT_EQ(QuotaPerThread(10, 4), 3);
  EXPECT_EQ(QuotaPerThread(1, 4), 1);
  EXPECT_EQ(QuotaPerThread(0, 4), kNoQuota) << "0: the duration decides";
}

}  // namespace
}  // namespace zonealloc::bench
