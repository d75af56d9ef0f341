// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/stats_at_exit.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc::internal {
namespace {

constexpr EnvVariable kStatsVariable = {
    .name = "ZONEALLOC_STATS",
    .expected = "stderr or a file path (a path ending in .json gets JSON)",
    .instead = "no stats at exit",
    .keep_case = true,
};

// Writes all of `text` to `fd` (see stderr_report.h: never SIGPIPE).
absl::Status WriteAll(int fd, std::string_view text, std::string_view where) {
  const absl::Status status = WriteAllWithoutSigpipe(fd, text);
  if (status.ok()) return status;
  return absl::UnavailableError(absl::StrFormat("cannot write zonealloc stats to %s: %s",
                                                std::string(where), status.message()));
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
    // stderr may be the broken pipe itself: ReportToStderr() does not die.
    ReportToStderr("zonealloc: ZONEALLOC_STATS: %.*s\n", static_cast<int>(status.message().size()),
                   status.message().data());
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
    ReportToStderr(
        "zonealloc: ZONEALLOC_STATS: cannot register the exit handler; no stats at exit\n");
  }
}

}  // namespace zonealloc::internal
