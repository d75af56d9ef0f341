// SPDX-License-Identifier: Apache-2.0
// The test helpers' own tests: WaitOrKill() reports each way a forked child
// can end, and a child it cannot wait for is never read as exit 0.

#include <zonealloc/testing/zone_testing.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "gtest/gtest.h"

namespace zonealloc::internal {
namespace {

TEST(WaitOrKillTest, ReturnsTheExitStatus) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(3);
  EXPECT_EQ(WaitOrKill(child, std::chrono::seconds(20)), 3);
}

TEST(WaitOrKillTest, Returns128PlusTheSignal) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  EXPECT_EQ(WaitOrKill(child, std::chrono::seconds(20)), 128 + SIGTERM);
}

TEST(WaitOrKillTest, KillsAChildThatHangs) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    while (true) pause();
  }
  EXPECT_EQ(WaitOrKill(child, std::chrono::seconds(0)), kWaitTimedOut);
}

TEST(WaitOrKillTest, ReportsAChildItCannotWaitFor) {
  // With SIGCHLD ignored the kernel reaps the child itself, so waitpid()
  // fails with ECHILD: no status, and not exit 0.
  struct sigaction ignore = {}, saved = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &saved), 0);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  const int status = child > 0 ? WaitOrKill(child, std::chrono::seconds(20)) : 0;
  ASSERT_EQ(sigaction(SIGCHLD, &saved, nullptr), 0);  // before any ASSERT can return
  ASSERT_GT(child, 0);
  EXPECT_EQ(status, kWaitFailed);
}

}  // namespace
}  // namespace zonealloc::internal
