// SPDX-License-Identifier: Apache-2.0
// RunTeam and RunControl: how a scenario's threads start, go on and stop.

#include "bench/thread_team.h"

#include <atomic>
#include <cstdint>
#include <limits>
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

TEST(RunTeamTest, TheQuotaIsTheOpsSharedOutRoundedUp) {
  EXPECT_EQ(QuotaPerThread(10, 4), 3);
  EXPECT_EQ(QuotaPerThread(1, 4), 1);
  EXPECT_EQ(QuotaPerThread(0, 4), kNoQuota) << "0: the duration decides";
}

}  // namespace
}  // namespace zonealloc::bench
