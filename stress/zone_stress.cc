// SPDX-License-Identifier: Apache-2.0
// zone_stress: the stress tool of issue 11. Many threads (default 4 x CPUs)
// allocate, hand over and free stamped blocks of small zones in each CPU
// cache mode, while threads come and go and move between CPUs, Drain() and
// Stats() run, and the process forks; every hand-out and free is checked,
// and the accounting at the end must be exact. See stress/README.md.
//
//   zone_stress --mode=all --seconds=60 --seed=7
//   zone_stress --mode=fallback --ops=1000000000 --seconds=0
//
// Exit status: 0 when every run passed, 1 on any violation (with
// --inject_stamp_fault: on anything but the injected one, and Abseil's
// exit on a flag it cannot parse), 2 for flag values out of range or values
// the library rejects, 3 when a run cannot be set up otherwise,
// 77 when the only mode asked for (rseq) is unsupported here.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/system_profile.h>
#include <zonealloc/zone_options.h>
#include "stress/block_stamp.h"
#include "stress/stress_config.h"
#include "stress/stress_run.h"

ABSL_FLAG(std::string, mode, "all",
          "CPU cache modes to run, one after the other: all, or a comma list of rseq, fallback, "
          "off. rseq is skipped where RseqSupport() fails");
ABSL_FLAG(int, threads, 0,
          "worker threads, at most 4096; 0: 4 x the CPUs this process may use (at most 4096)");
ABSL_FLAG(double, seconds, 10, "how long each mode runs, finite; 0: no time limit (set --ops)");
ABSL_FLAG(uint64_t, ops, 0, "stop each mode after this many Allocate()+Free() calls; 0: none");
ABSL_FLAG(uint64_t, seed, 1, "seed of every random choice (the schedule is still the OS's)");
ABSL_FLAG(int, zones, 2, "zones under test, in one ZoneService");
ABSL_FLAG(uint64_t, block_size, 64, "bytes per block (at least 32, the stamp)");
ABSL_FLAG(uint64_t, initial_blocks, 1024, "blocks in each zone's initial segment");
ABSL_FLAG(uint64_t, budget_bytes, 512 << 10,
          "the service's permanent-memory budget; small, so extensions are refused at peaks");
ABSL_FLAG(uint64_t, queue_capacity, 1 << 16, "blocks the handoff queue holds at most");
ABSL_FLAG(std::string, handoff, zonealloc::stress::kHaveTbbHandoff ? "tbb" : "locked",
          "the handoff queue: tbb (tbb::concurrent_bounded_queue) or locked (a mutex and a "
          "deque; faster with many threads per CPU; the only one under ThreadSanitizer)");
ABSL_FLAG(int, burst_every, 64, "one round in this many is a big burst (initial_blocks/4 to 1.25x)");
ABSL_FLAG(int, max_held, 64, "blocks a worker keeps across rounds");
ABSL_FLAG(int, migrate_every, 256, "rounds between a worker's CPU moves (sched_setaffinity)");
ABSL_FLAG(int, churn_ms, 20, "a worker thread is destroyed and a new one started this often; 0: never");
ABSL_FLAG(int, drain_every_ms, 5, "period of the Drain()/Stats()/Snapshot() thread; 0: none");
ABSL_FLAG(int, fork_every_ms, 200, "period of the forker; 0: no fork");
ABSL_FLAG(int, fork_timeout_s, 30, "a forked child that takes longer hung (a violation)");
ABSL_FLAG(bool, progress, true, "print a progress line each second");
ABSL_FLAG(bool, inject_stamp_fault, false,
          "test the checker: one worker overwrites one block's stamp as a second owner would; "
          "the run must then fail");

namespace zonealloc::stress {
namespace {

// The modes named by --mode, or an empty list after printing why.
std::vector<CpuCacheMode> ParseModes(const std::string& text) {
  if (text == "all") return {CpuCacheMode::kRseq, CpuCacheMode::kFallback, CpuCacheMode::kOff};
  std::vector<CpuCacheMode> modes;
  for (absl::string_view name : absl::StrSplit(text, ',')) {
    absl::StatusOr<CpuCacheMode> mode = ParseCpuCacheMode(std::string_view(name.data(), name.size()));
    if (!mode.ok()) {
      std::fprintf(stderr, "zone_stress: --mode: %s\n", mode.status().ToString().c_str());
      return {};
    }
    modes.push_back(*mode);
  }
  return modes;
}

// At most this many workers: each is a thread with its counters' slot, and
// the tool was run with up to 1024 (README.md).
constexpr int kMaxThreads = 4096;

// Why the flags' values are bad, naming the flag and the value, or "" when
// they are good.
std::string BadFlag(const StressConfig& config, const std::string& handoff) {
  if (handoff != "tbb" && handoff != "locked") {
    return absl::StrFormat("--handoff must be tbb or locked, got '%s'", handoff);
  }
  if (handoff == "tbb" && !kHaveTbbHandoff) {
    return "--handoff=tbb: not in this build (ThreadSanitizer); use --handoff=locked";
  }
  if (config.threads < 1 || config.threads > kMaxThreads) {
    return absl::StrFormat("--threads must be in [0, %d] (0: 4 x CPUs), got %d", kMaxThreads,
                           absl::GetFlag(FLAGS_threads));
  }
  if (!std::isfinite(config.seconds) || config.seconds < 0) {
    return absl::StrFormat("--seconds must be finite and >= 0, got %g", config.seconds);
  }
  if (config.seconds == 0 && config.ops == 0) return "set --seconds or --ops: both are 0";
  if (config.zones < 1) return absl::StrFormat("--zones must be >= 1, got %d", config.zones);
  if (config.block_size < sizeof(BlockStamp)) {
    return absl::StrFormat("--block_size must be >= %d (the stamp), got %d", sizeof(BlockStamp),
                           config.block_size);
  }
  if (config.initial_blocks < 4) {
    return absl::StrFormat("--initial_blocks must be >= 4, got %d", config.initial_blocks);
  }
  if (config.queue_capacity < 1) {
    return absl::StrFormat("--queue_capacity must be >= 1, got %d", config.queue_capacity);
  }
  if (config.burst_every < 1) {
    return absl::StrFormat("--burst_every must be >= 1, got %d", config.burst_every);
  }
  if (config.max_held < 0)
    return absl::StrFormat("--max_held must be >= 0, got %d", config.max_held);
  if (config.migrate_every < 1) {
    return absl::StrFormat("--migrate_every must be >= 1, got %d", config.migrate_every);
  }
  if (config.churn_ms < 0)
    return absl::StrFormat("--churn_ms must be >= 0, got %d", config.churn_ms);
  if (config.drain_every_ms < 0) {
    return absl::StrFormat("--drain_every_ms must be >= 0, got %d", config.drain_every_ms);
  }
  if (config.fork_every_ms < 0) {
    return absl::StrFormat("--fork_every_ms must be >= 0, got %d", config.fork_every_ms);
  }
  if (config.fork_timeout_s < 1) {
    return absl::StrFormat("--fork_timeout_s must be >= 1, got %d", config.fork_timeout_s);
  }
  return "";
}

// The flags' values, or nullopt after printing which one is bad.
std::optional<StressConfig> ConfigFromFlags() {
  StressConfig config;
  config.threads = absl::GetFlag(FLAGS_threads);
  if (config.threads == 0) {
    // The CPUs this process may use (affinity, cgroup quota), not the host's.
    config.threads = std::min(4 * SystemProfile::Current().usable_cpus, kMaxThreads);
  }
  config.seconds = absl::GetFlag(FLAGS_seconds);
  config.ops = absl::GetFlag(FLAGS_ops);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.zones = absl::GetFlag(FLAGS_zones);
  config.block_size = absl::GetFlag(FLAGS_block_size);
  config.initial_blocks = absl::GetFlag(FLAGS_initial_blocks);
  config.budget_bytes = absl::GetFlag(FLAGS_budget_bytes);
  config.queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  const std::string handoff = absl::GetFlag(FLAGS_handoff);
  config.handoff = handoff == "tbb" ? HandoffKind::kTbb : HandoffKind::kLocked;
  config.burst_every = absl::GetFlag(FLAGS_burst_every);
  config.max_held = absl::GetFlag(FLAGS_max_held);
  config.migrate_every = absl::GetFlag(FLAGS_migrate_every);
  config.churn_ms = absl::GetFlag(FLAGS_churn_ms);
  config.drain_every_ms = absl::GetFlag(FLAGS_drain_every_ms);
  config.fork_every_ms = absl::GetFlag(FLAGS_fork_every_ms);
  config.fork_timeout_s = absl::GetFlag(FLAGS_fork_timeout_s);
  config.progress = absl::GetFlag(FLAGS_progress);
  config.inject_stamp_fault = absl::GetFlag(FLAGS_inject_stamp_fault);
  if (const std::string bad = BadFlag(config, handoff); !bad.empty()) {
    std::fprintf(stderr, "zone_stress: %s\n", bad.c_str());
    return std::nullopt;
  }
  return config;
}

// The exit statuses (README.md).
constexpr int kExitPass = 0;
constexpr int kExitViolations = 1;
constexpr int kExitBadFlags = 2;  // also values the library rejects (InvalidArgument)
constexpr int kExitSetupFailed = 3;
constexpr int kExitSkipped = 77;

// Whether one mode's run passed. With --inject_stamp_fault it passes only
// when the checker caught the injected stamp and found nothing else.
bool ModePassed(const StressConfig& config, const StressResult& result) {
  if (!config.inject_stamp_fault) return result.violations == 0;
  return result.violations == 1 && result.injected_faults_caught == 1;
}

int Main() {
  const std::vector<CpuCacheMode> modes = ParseModes(absl::GetFlag(FLAGS_mode));
  std::optional<StressConfig> config = ConfigFromFlags();
  if (modes.empty() || !config.has_value()) return kExitBadFlags;
  int ran = 0, failed = 0;
  uint64_t violations = 0;
  for (CpuCacheMode mode : modes) {
    const std::string name(CpuCacheModeName(mode));
    if (mode == CpuCacheMode::kRseq) {
      if (absl::Status rseq = RseqSupport(); !rseq.ok()) {
        std::printf("[rseq] skipped: %s\n", rseq.ToString().c_str());
        continue;
      }
    }
    config->mode = mode;
    std::printf(
        "[%s] start: threads=%d seconds=%g ops=%llu seed=%llu zones=%d block_size=%zu "
        "initial_blocks=%zu budget_bytes=%llu handoff=%s\n",
        name.c_str(), config->threads, config->seconds,
        static_cast<unsigned long long>(config->ops), static_cast<unsigned long long>(config->seed),
        config->zones, config->block_size, config->initial_blocks,
        static_cast<unsigned long long>(config->budget_bytes),
        config->handoff == HandoffKind::kTbb ? "tbb" : "locked");
    std::fflush(stdout);
    const absl::StatusOr<StressResult> result = RunStress(*config);
    if (!result.ok()) {
      // Not a violation: nothing ran.
      const bool bad_flags = absl::IsInvalidArgument(result.status());
      std::fprintf(stderr, "zone_stress: [%s] %s: %s\n", name.c_str(),
                   bad_flags ? "the library rejects the flags' values" : "setup failed",
                   result.status().ToString().c_str());
      return bad_flags ? kExitBadFlags : kExitSetupFailed;
    }
    if (config->inject_stamp_fault) {
      std::printf(
          "[%s] --inject_stamp_fault: %llu violations, %llu of them the injected stamp: "
          "%s\n",
          name.c_str(), static_cast<unsigned long long>(result->violations),
          static_cast<unsigned long long>(result->injected_faults_caught),
          ModePassed(*config, *result) ? "the checker caught it, and only it"
                                       : "want exactly that one");
    }
    violations += result->violations;
    failed += ModePassed(*config, *result) ? 0 : 1;
    ++ran;
  }
  if (ran == 0) return kExitSkipped;
  std::printf(
      "zone_stress: %s (%d mode%s, %llu violations%s)\n", failed == 0 ? "PASS" : "FAIL", ran,
      ran == 1 ? "" : "s", static_cast<unsigned long long>(violations),
      config->inject_stamp_fault ? "; --inject_stamp_fault: passes on the injected one alone" : "");
  return failed == 0 ? kExitPass : kExitViolations;
}

}  // namespace
}  // namespace zonealloc::stress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Stress test of zonealloc zones: many threads, cross-thread frees, bursts through "
      "overflow and extension, thread churn, CPU moves, concurrent Drain()/Stats() and fork(). "
      "See stress/README.md.");
  absl::ParseCommandLine(argc, argv);  // exits 1 on a flag it cannot parse
  return zonealloc::stress::Main();
}
