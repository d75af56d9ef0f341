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
// --inject_stamp_fault: on anything but the injected one), 2 for bad flags
// or values the library rejects, 3 when a run cannot be set up otherwise,
// 77 when the only mode asked for (rseq) is unsupported here.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
ABSL_FLAG(int, threads, 0, "worker threads; 0: 4 x the CPUs this process may use");
ABSL_FLAG(double, seconds, 10, "how long each mode runs; 0: no time limit (set --ops)");
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

// The flags' values, or nullopt after printing which one is bad.
std::optional<StressConfig> ConfigFromFlags() {
  StressConfig config;
  config.threads = absl::GetFlag(FLAGS_threads);
  if (config.threads == 0) {
    // The CPUs this process may use (affinity, cgroup quota), not the host's.
    config.threads = 4 * SystemProfile::Current().usable_cpus;
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
  const char* bad = nullptr;
  if (handoff != "tbb" && handoff != "locked") bad = "--handoff must be tbb or locked";
  else if (handoff == "tbb" && !kHaveTbbHandoff) bad = "--handoff=tbb: not in this build (ThreadSanitizer)";
  else if (config.threads < 1) bad = "--threads must be >= 0";
  else if (config.seconds < 0) bad = "--seconds must be >= 0";
  else if (config.seconds == 0 && config.ops == 0) bad = "set --seconds or --ops";
  else if (config.zones < 1) bad = "--zones must be >= 1";
  else if (config.block_size < sizeof(BlockStamp)) bad = "--block_size must be >= 32";
  else if (config.initial_blocks < 4) bad = "--initial_blocks must be >= 4";
  else if (config.queue_capacity < 1) bad = "--queue_capacity must be >= 1";
  else if (config.burst_every < 1) bad = "--burst_every must be >= 1";
  else if (config.max_held < 0) bad = "--max_held must be >= 0";
  else if (config.migrate_every < 1) bad = "--migrate_every must be >= 1";
  else if (config.churn_ms < 0 || config.drain_every_ms < 0 || config.fork_every_ms < 0)
    bad = "--churn_ms, --drain_every_ms and --fork_every_ms must be >= 0";
  else if (config.fork_timeout_s < 1) bad = "--fork_timeout_s must be >= 1";
  if (bad != nullptr) {
    std::fprintf(stderr, "zone_stress: %s\n", bad);
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
  absl::ParseCommandLine(argc, argv);
  return zonealloc::stress::Main();
}
