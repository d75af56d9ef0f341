// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/stderr_report.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace zonealloc::internal {
namespace {

TEST(WriteAllWithoutSigpipeTest, WritesEverything) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_TRUE(WriteAllWithoutSigpipe(pipe_fds[1], "zone stats\n").ok());
  char buffer[32] = {};
  EXPECT_EQ(::read(pipe_fds[0], buffer, sizeof(buffer)), 11);
  EXPECT_STREQ(buffer, "zone stats\n");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

// With SIGPIPE at its default action, a write to a pipe without a reader
// would kill this test. It fails with EPIPE instead, leaves no SIGPIPE
// pending and the signal mask as it was.
TEST(WriteAllWithoutSigpipeTest, APipeWithoutAReaderIsAnErrorNotADeath) {
  struct sigaction old_action;
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &default_action, &old_action), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[0]);

  const absl::Status status = WriteAllWithoutSigpipe(pipe_fds[1], "lost\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), std::strerror(EPIPE));
  sigset_t pending;
  ASSERT_EQ(::sigpending(&pending), 0);
  EXPECT_EQ(::sigismember(&pending, SIGPIPE), 0) << "the SIGPIPE raised was taken back";
  sigset_t mask;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &mask), 0);
  EXPECT_EQ(::sigismember(&mask, SIGPIPE), 0) << "the mask is restored";

  ::close(pipe_fds[1]);
  ::sigaction(SIGPIPE, &old_action, nullptr);
}

TEST(ReportToStderrTest, WritesTheFormattedLine) {
  ::testing::internal::CaptureStderr();
  ReportToStderr("zonealloc: zone '%s' destroyed with %d blocks in use\n", "leaky", 4);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "zonealloc: zone 'leaky' destroyed with 4 blocks in use\n");
}

TEST(ReportToStderrTest, ALongLineIsCutAt1KiBAndStillEndsTheLine) {
  const std::string name(2000, 'z');
  ::testing::internal::CaptureStderr();
  ReportToStderr("zonealloc: zone '%s'\n", name.c_str());
  const std::string line = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(line.size(), 1023u);
  EXPECT_EQ(line.rfind("zonealloc: zone 'zzz", 0), 0u);
  EXPECT_EQ(line.back(), '\n');
}

}  // namespace
}  // namespace zonealloc::internal
