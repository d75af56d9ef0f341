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
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  sigset_t old_mask;
  ASSERT_EQ(::pthread_sigmask(SIG_UNBLOCK, &sigpipe, &old_mask), 0);  // as a program has it
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
  EXPECT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &mask), 0);
  EXPECT_EQ(::sigismember(&mask, SIGPIPE), 0) << "the mask is restored";

  ::close(pipe_fds[1]);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_action, nullptr);
}

TEST(ReportToStderrTest, WritesTheFormattedLine) {
  ::testing::internal::CaptureStderr();
  ReportToStderr("zonealloc: zone '%s' destroyed with %d blocks in use\n", "leaky", 4);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "zonealloc: zone 'leaky' destroyed with 4 blocks in use\n");
}

// The report of `text` and a newline, as stderr got it.
std::string ReportOf(const std::string& text) {
  ::testing::internal::CaptureStderr();
  ReportToStderr("%s\n", text.c_str());
  return ::testing::internal::GetCapturedStderr();
}

TEST(ReportToStderrTest, ALineThatFitsIsWrittenWhole) {
  const std::string text(kMaxReportBytes - 1, 'z');
  EXPECT_EQ(ReportOf(text), text + "\n");
}

TEST(ReportToStderrTest, ALongerLineIsCutAndStillEndsTheLine) {
  for (const size_t length : {kMaxReportBytes, size_t{2000}}) {
    const std::string text(length, 'z');
    const std::string line = ReportOf(text);
    EXPECT_EQ(line, text.substr(0, kMaxReportBytes - 1) + "\n") << length;
  }
}

TEST(ReportToStderrTest, LeavesErrnoAsTheCallerHadIt) {
  errno = ENOMEM;
  ::testing::internal::CaptureStderr();
  ReportToStderr("zonealloc: %s\n", std::strerror(errno));
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(errno, ENOMEM);
}

}  // namespace
}  // namespace zonealloc::internal
