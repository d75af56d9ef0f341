// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/stderr_report.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace zonealloc::internal {
namespace {

// Blocks SIGPIPE for the calling thread while it lives, and takes back the
// one its writes raised (NoteEpipe) before it restores the mask.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    blocked_ = pthread_sigmask(SIG_BLOCK, &sigpipe_, &old_mask_) == 0;
    sigset_t pending;
    // One pending already (blocked, or sent to the process) is not ours.
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    const int saved_errno = errno;
    if (raised_ && !was_pending_) {
      const timespec now{};
      while (sigtimedwait(&sigpipe_, nullptr, &now) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    errno = saved_errno;
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

  // A write failed with EPIPE: it raised SIGPIPE for this thread.
  void NoteEpipe() { raised_ = true; }

 private:
  sigset_t sigpipe_;
  sigset_t old_mask_;
  bool blocked_ = false;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

absl::Status WriteAllWithoutSigpipe(int fd, std::string_view text) {
  ScopedSigpipeBlock no_sigpipe;
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      if (errno == EPIPE) no_sigpipe.NoteEpipe();
      return absl::UnavailableError(std::strerror(errno));
    }
    if (written == 0) return absl::UnavailableError("the write made no progress");
    text.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

void ReportToStderr(const char* format, ...) {
  const int saved_errno = errno;  // callers report errno, then may read it
  char line[kMaxReportBytes + 1];
  va_list args;
  va_start(args, format);
  const int length = std::vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  if (length < 0) {  // an encoding error: the format still says what happened
    (void)WriteAllWithoutSigpipe(STDERR_FILENO, format);
  } else {
    size_t size = static_cast<size_t>(length);
    if (size > kMaxReportBytes) {  // cut, still one line
      size = kMaxReportBytes;
      line[size - 1] = '\n';
    }
    (void)WriteAllWithoutSigpipe(STDERR_FILENO, std::string_view(line, size));
  }
  errno = saved_errno;
}

}  // namespace zonealloc::internal
