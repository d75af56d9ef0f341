// SPDX-License-Identifier: Apache-2.0
#include "bench/child_process.h"

#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ChildProcessTest, CollectsStdoutAndExitCode) {
  absl::StatusOr<ChildExit> exit = RunChildProcess("/bin/echo", {"hello"}, "", absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->stdout_text, "hello\n");
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->Describe(), "exit 0");
}

TEST(ChildProcessTest, ReportsAFailingExit) {
  absl::StatusOr<ChildExit> exit = RunChildProcess("/bin/false", {}, "", absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 1);
  EXPECT_EQ(exit->Describe(), "exit 1");
}

TEST(ChildProcessTest, AMissingProgramIsNotFound) {
  absl::StatusOr<ChildExit> exit =
      RunChildProcess("/nonexistent/zonealloc_bench_worker", {}, "", absl::Seconds(30));
  EXPECT_EQ(exit.status().code(), absl::StatusCode::kNotFound);
}

TEST(ChildProcessTest, KillsAProcessThatOutlivesItsLimit) {
  absl::StatusOr<ChildExit> exit =
      RunChildProcess("/bin/sleep", {"30"}, "", absl::Milliseconds(100));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->timed_out);
  EXPECT_EQ(exit->Describe(), "timed out");
}

TEST(ChildProcessTest, RemovesAnInheritedPreload) {
  ASSERT_EQ(setenv("LD_PRELOAD", "", /*overwrite=*/1), 0);
  absl::StatusOr<ChildExit> exit = RunChildProcess("/usr/bin/env", {}, "", absl::Seconds(30));
  unsetenv("LD_PRELOAD");
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_THAT(exit->stdout_text, Not(HasSubstr("LD_PRELOAD=")));
}

// With SIGCHLD ignored the kernel reaps the child itself, so waitpid cannot
// say how it ended: that is an error, never "exit 0".
TEST(ChildProcessTest, AnUnknownEndIsAnErrorNotExitZero) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &previous), 0);
  absl::StatusOr<ChildExit> exit = RunChildProcess("/bin/false", {}, "", absl::Seconds(30));
  ASSERT_EQ(sigaction(SIGCHLD, &previous, nullptr), 0);

  ASSERT_FALSE(exit.ok()) << exit->Describe();
  EXPECT_THAT(exit.status().message(), HasSubstr("waitpid"));
  EXPECT_THAT(exit.status().message(), HasSubstr(std::strerror(ECHILD)));
}

}  // namespace
}  // namespace zonealloc::bench
