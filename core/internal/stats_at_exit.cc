// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/stats_at_exit.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <zonealloc/internal/env.h>

namespace zonealloc::internal {
namespace {

constexpr EnvVariable kStatsVariable = {
    .name = "ZONEALLOC_STATS",
    .expected = "stderr or a file path (a path ending in .json gets JSON)",
    .instead = "no stats at exit",
    .keep_case = true,
};

// Blocks SIGPIPE for the calling thread while it lives. A write to a pipe
// whose reader is gone raises it, and its default action kills the process:
// at exit that would turn a program's exit status into a signal death over
// a statistic. The write fails with EPIPE instead, and the SIGPIPE it raised
// is taken back before the mask is restored.
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

// Writes all of `text` to `fd`, retrying short writes and EINTR. A write
// that makes no progress is an error, not a reason to loop forever.
absl::Status WriteAll(int fd, std::string_view text, std::string_view where) {
  ScopedSigpipeBlock no_sigpipe;
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      if (written < 0 && errno == EPIPE) no_sigpipe.NoteEpipe();
      const char* why = written < 0 ? std::strerror(errno) : "the write made no progress";
      return absl::UnavailableError(
          absl::StrFormat("cannot write zonealloc stats to %s: %s", std::string(where), why));
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

// What the handler writes, set once before it is registered; never freed,
// as the handler may run after any destructor.
struct AtExit {
  ZoneService* service;
  StatsDestination destination;
  pid_t pid;  // the process that registered the handler
};
std::atomic<AtExit*> at_exit{nullptr};

void WriteStatsAtExit() {
  // acquire: pairs with the release store before std::atexit, should exit()
  // be called on another thread.
  const AtExit* state = at_exit.load(std::memory_order_acquire);
  if (state == nullptr || ::getpid() != state->pid) return;
  if (absl::Status status = WriteStats(*state->service, state->destination); !status.ok()) {
    // stderr may be the broken pipe itself.
    ScopedSigpipeBlock no_sigpipe;
    const std::string line = absl::StrCat("zonealloc: ZONEALLOC_STATS: ", status.message(), "\n");
    if (std::fputs(line.c_str(), stderr) == EOF && errno == EPIPE) no_sigpipe.NoteEpipe();
  }
}

}  // namespace

absl::StatusOr<StatsDestination> ParseStatsDestination(std::string_view value) {
  const std::string text(value);
  if (absl::EqualsIgnoreCase(text, "stderr")) return StatsDestination{};
  const std::string lower = NormalizeEnvValue(text);
  for (const char* word : {"1", "on", "true", "yes", "0", "off", "false", "no"}) {
    if (lower == word) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ZONEALLOC_STATS=\"%s\" is a switch, not stderr or a file path", text));
    }
  }
  if (text.empty() || text.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrFormat("ZONEALLOC_STATS=\"%s\" names no file", text));
  }
  return StatsDestination{
      .path = text,
      .format = absl::EndsWithIgnoreCase(text, ".json") ? StatsFormat::kJson : StatsFormat::kText,
  };
}

std::optional<StatsDestination> ReadStatsDestination(const Getenv& getenv) {
  return ReadEnv(kStatsVariable, ParseStatsDestination, getenv);
}

absl::Status WriteStats(const ZoneService& service, const StatsDestination& destination) {
  const std::string text =
      destination.format == StatsFormat::kJson ? service.ToJson() : service.DumpText();
  if (destination.path.empty()) return WriteAll(STDERR_FILENO, text, "stderr");
  const std::string where = absl::StrCat("'", destination.path, "'");
  const int fd = ::open(destination.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrFormat("cannot open %s for zonealloc stats: %s", where,
                                                  std::strerror(errno)));
  }
  absl::Status status = WriteAll(fd, text, where);
  // close() can report a write the file system deferred (NFS, quota).
  if (::close(fd) != 0 && status.ok()) {
    status = absl::UnavailableError(absl::StrFormat("cannot write zonealloc stats to %s: %s",
                                                    where, std::strerror(errno)));
  }
  return status;
}

void WriteStatsAtExitIfAsked(ZoneService& service) {
  std::optional<StatsDestination> destination = ReadStatsDestination();
  if (!destination) return;
  service.KeepDestroyedZoneStats();
  // release: pairs with the acquire in WriteStatsAtExit.
  at_exit.store(new AtExit{&service, *std::move(destination), ::getpid()},
                std::memory_order_release);
  if (std::atexit(&WriteStatsAtExit) != 0) {
    std::fputs("zonealloc: ZONEALLOC_STATS: cannot register the exit handler; no stats at exit\n",
               stderr);
  }
}

}  // namespace zonealloc::internal
