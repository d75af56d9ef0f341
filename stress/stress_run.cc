// SPDX-License-Identifier: Apache-2.0
#include "stress/stress_run.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <zonealloc/testing/zone_testing.h>
#include "stress/drain_and_stats_caller.h"
#include "stress/fork_checker.h"
#include "stress/progress_line.h"
#include "stress/stress_state.h"
#include "stress/stress_worker.h"

namespace zonealloc::stress {
namespace {

using Clock = std::chrono::steady_clock;

// The service and zones under test, or the library's error, prefixed with
// the call that failed.
absl::StatusOr<std::unique_ptr<StressState>> MakeState(const StressConfig& config) {
  absl::StatusOr<std::unique_ptr<ZoneService>> service = ZoneService::Create(
      {.name = "stress", .permanent_budget_bytes = config.budget_bytes});
  if (!service.ok()) {
    return absl::Status(service.status().code(),
                        absl::StrCat("ZoneService::Create: ", service.status().message()));
  }
  std::vector<std::unique_ptr<Zone>> zones;
  for (int z = 0; z < config.zones; ++z) {
    // Small zones, no cap on overflow: bursts run them full, onto overflow,
    // into extension until the budget refuses, and back.
    absl::StatusOr<std::unique_ptr<Zone>> zone = (*service)->CreateZone(
        {.name = absl::StrFormat("stress-%d", z),
         .block_size = config.block_size,
         .initial_blocks = config.initial_blocks,
         .cpu_cache = config.mode});
    if (!zone.ok()) {
      return absl::Status(zone.status().code(),
                          absl::StrCat("CreateZone: ", zone.status().message()));
    }
    zones.push_back(*std::move(zone));
  }
  return std::make_unique<StressState>(config, *std::move(service), std::move(zones));
}

bool LimitReached(const StressConfig& config, const StressState& state, Clock::time_point start) {
  if (config.seconds > 0 &&
      std::chrono::duration<double>(Clock::now() - start).count() >= config.seconds) {
    return true;
  }
  return config.ops > 0 && state.TotalOps() >= config.ops;
}

// After every thread stopped: frees what the queue still holds, then checks
// that the tool holds nothing and each zone agrees, no block was lost or
// duplicated, overflow went back and the budget held.
void QuiesceAndCheck(StressState& state) {
  HandedOffBlock item;
  while (state.handoff.try_pop(item)) state.CheckAndFree(item.block, item.zone, 0, nullptr);
  const size_t still_held = state.live.Size();
  if (still_held != 0) {
    state.violations.Report("quiesce", absl::StrFormat("the tool still holds %d blocks after "
                                                       "freeing everything",
                                                       still_held));
  }
  uint64_t zones_permanent = 0;
  for (const auto& zone : state.zones) {
    zone->Drain();
    const ZoneStats stats = zone->Stats();
    const std::string where = absl::StrFormat("end of run, zone %s", zone->name());
    zones_permanent += stats.permanent_bytes;
    if (stats.in_use_blocks != 0) {
      state.violations.Report(where, absl::StrFormat("in_use_blocks %d after quiesce and Drain(), "
                                                     "but the tool holds %d blocks in all zones",
                                                     stats.in_use_blocks, still_held));
    }
    if (stats.overflow_blocks_in_use != 0) {
      state.violations.Report(where, absl::StrFormat("overflow_blocks_in_use %d after quiesce",
                                                     stats.overflow_blocks_in_use));
    }
    if (stats.overflow_slabs_live != 0) {
      state.violations.Report(where, absl::StrFormat("overflow_slabs_live %d though the zone has "
                                                     "free blocks (created %d, released %d)",
                                                     stats.overflow_slabs_live,
                                                     stats.overflow_slabs_created,
                                                     stats.overflow_slabs_released));
    }
    // Every permanent block free exactly once: taking them all yields
    // capacity_blocks distinct blocks.
    const std::set<void*> every_block = internal::TakeEveryFreeBlock(*zone);
    if (every_block.size() != stats.capacity_blocks || every_block.count(nullptr) != 0) {
      state.violations.Report(where, absl::StrFormat("%d distinct free permanent blocks, "
                                                     "capacity_blocks %d: a block was lost or is "
                                                     "on a free list twice",
                                                     every_block.size(), stats.capacity_blocks));
    }
    for (void* block : every_block) zone->Free(block);
    zone->Drain();
    if (const size_t in_use = zone->Stats().in_use_blocks; in_use != 0) {
      state.violations.Report(where, absl::StrFormat("in_use_blocks %d after taking and freeing "
                                                     "every block",
                                                     in_use));
    }
  }
  if (zones_permanent != state.service->permanent_bytes()) {
    state.violations.Report("end of run", absl::StrFormat("zones' permanent_bytes sum to %d, the "
                                                          "service charged %d",
                                                          zones_permanent,
                                                          state.service->permanent_bytes()));
  }
  state.CheckBudget("end of run");
}

// A run with at least this many big bursts must have overflowed: a big burst
// holds more blocks than a zone's initial segment one time in four, and a
// zone that never overflowed never extended, so it still had only those
// blocks. All 64 bursts falling short has a chance of 0.75^64 < 1e-7.
constexpr uint64_t kCoverageMinBigBursts = 64;

// And forked, with --fork_every_ms > 0, once it ran this long and two periods.
constexpr double kCoverageMinForkSeconds = 1.0;

// Whether the budget left after the zones' initial segments pays for a
// zone's least extension: extension_blocks, which the tool leaves at the
// initial size, so it costs what the zone's initial segment does.
bool BudgetAllowsAnExtension(const StressState& state) {
  const uint64_t left = state.service->budget_bytes() - state.service->permanent_bytes();
  for (const auto& zone : state.zones) {
    if (zone->Stats().permanent_bytes <= left) return true;
  }
  return false;
}

// The risky paths a run is meant to reach: a run that never overflowed,
// extended or forked passes the checks above while checking little. Each
// miss is a violation naming its counter; a run too short to be sure of the
// path skips that rule and says so.
void CheckCoverage(StressState& state, double seconds, bool budget_allows_extension) {
  const std::string where =
      absl::StrFormat("end of run, coverage [%s]", CpuCacheModeName(state.config.mode));
  uint64_t big_bursts = 0;
  for (const auto& slot : state.slots) {
    big_bursts += slot.value.big_bursts.load(std::memory_order_relaxed);
  }
  size_t overflow_allocations = 0, extensions = 0;
  for (const auto& zone : state.zones) {
    const ZoneStats stats = zone->Stats();
    overflow_allocations += stats.overflow_allocations;
    extensions += stats.extensions;
  }
  if (state.TotalOps() == 0) state.violations.Report(where, "ops 0: no worker allocated or freed");
  if (big_bursts >= kCoverageMinBigBursts) {
    if (overflow_allocations == 0) {
      state.violations.Report(where, absl::StrFormat("overflow_allocations 0 after %d big bursts: "
                                                     "no burst ran a zone full",
                                                     big_bursts));
    }
    if (budget_allows_extension && extensions == 0) {
      state.violations.Report(where, absl::StrFormat("extensions 0 after %d big bursts (%d "
                                                     "overflow allocations), though the budget "
                                                     "had room for one",
                                                     big_bursts, overflow_allocations));
    }
  } else {
    std::printf(
        "[%s] coverage: %llu big bursts, fewer than %llu: overflow and extension not "
        "required\n",
        std::string(CpuCacheModeName(state.config.mode)).c_str(),
        static_cast<unsigned long long>(big_bursts),
        static_cast<unsigned long long>(kCoverageMinBigBursts));
  }
  const double fork_period = state.config.fork_every_ms / 1000.0;
  const uint64_t forks = state.forks.load(std::memory_order_relaxed);
  if (state.config.fork_every_ms > 0 && forks == 0) {
    if (seconds >= std::max(kCoverageMinForkSeconds, 2 * fork_period)) {
      state.violations.Report(where, absl::StrFormat("forks 0 in %.1f s with --fork_every_ms=%d",
                                                     seconds, state.config.fork_every_ms));
    } else {
      std::printf("[%s] coverage: %.1f s, too short to require a fork\n",
                  std::string(CpuCacheModeName(state.config.mode)).c_str(), seconds);
    }
  }
}

// `seconds` and `ops_at_limit`: when the time or op limit was reached; the
// ops count adds the rounds the workers finished after it.
void PrintSummary(const StressState& state, double seconds, uint64_t ops_at_limit) {
  uint64_t ops = 0, cross = 0, bursts = 0;
  for (const auto& slot : state.slots) {
    ops += slot.value.ops.load(std::memory_order_relaxed);
    cross += slot.value.cross_thread_frees.load(std::memory_order_relaxed);
    bursts += slot.value.big_bursts.load(std::memory_order_relaxed);
  }
  size_t overflow_allocations = 0, slabs_created = 0, slabs_released = 0, extensions = 0,
         refusals = 0, slow_paths = 0, cache_drains = 0, capacity = 0;
  for (const auto& zone : state.zones) {
    const ZoneStats stats = zone->Stats();
    overflow_allocations += stats.overflow_allocations;
    slabs_created += stats.overflow_slabs_created;
    slabs_released += stats.overflow_slabs_released;
    extensions += stats.extensions;
    refusals += stats.extension_refusals;
    slow_paths += stats.slow_path_entries;
    cache_drains += stats.cache_drains;
    capacity += stats.capacity_blocks;
  }
  const auto count = [](const std::atomic<uint64_t>& c) {
    return static_cast<unsigned long long>(c.load(std::memory_order_relaxed));
  };
  std::printf(
      "[%s] summary: %s: threads=%d seconds=%.1f ops=%llu ops/s=%.0f cross_thread_frees=%llu "
      "big_bursts=%llu workers_started=%llu migrations=%llu drain_rounds=%llu forks=%llu "
      "slow_paths=%zu cache_drains=%zu overflow_allocations=%zu overflow_slabs=%zu/%zu "
      "(created/released) extensions=%zu refusals=%zu capacity=%zu "
      "max_permanent=%llu budget=%llu violations=%llu\n",
      std::string(CpuCacheModeName(state.config.mode)).c_str(),
      state.violations.count() == 0 ? "PASS" : "FAIL", state.config.threads, seconds,
      static_cast<unsigned long long>(ops), static_cast<double>(ops_at_limit) / seconds,
      static_cast<unsigned long long>(cross), static_cast<unsigned long long>(bursts),
      count(state.workers_started), count(state.migrations), count(state.drains),
      count(state.forks), slow_paths, cache_drains, overflow_allocations, slabs_created,
      slabs_released, extensions, refusals, capacity,
      count(state.max_permanent_bytes),
      static_cast<unsigned long long>(state.service->budget_bytes()),
      static_cast<unsigned long long>(state.violations.count()));
  std::fflush(stdout);
}

}  // namespace

absl::StatusOr<StressResult> RunStress(const StressConfig& config) {
  absl::StatusOr<std::unique_ptr<StressState>> made = MakeState(config);
  if (!made.ok()) return made.status();
  std::unique_ptr<StressState> state = *std::move(made);
  const bool budget_allows_extension = BudgetAllowsAnExtension(*state);
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    std::fprintf(stderr, "zone_stress: sched_getaffinity: %s; the workers will not migrate\n",
                 std::strerror(errno));
    CPU_ZERO(&allowed);  // MoveToRandomCpu() then leaves them where they are
  }
  std::mt19937_64 rng(config.seed);

  const Clock::time_point start = Clock::now();
  double seconds = 0;
  uint64_t ops_at_limit = 0;
  {
    std::vector<std::unique_ptr<StressWorker>> workers(static_cast<size_t>(config.threads));
    auto start_worker = [&](size_t slot) {
      const uint64_t id = state->workers_started.fetch_add(1, std::memory_order_relaxed) + 1;
      workers[slot] = std::make_unique<StressWorker>(*state, id, static_cast<int>(slot), allowed);
    };
    for (size_t slot = 0; slot < workers.size(); ++slot) start_worker(slot);
    std::optional<DrainAndStatsCaller> drainer;
    if (config.drain_every_ms > 0) drainer.emplace(*state);
    std::optional<ForkChecker> forker;
    if (config.fork_every_ms > 0) forker.emplace(*state);
    std::optional<ProgressLine> progress;
    if (config.progress) progress.emplace(*state);

    Clock::time_point next_churn = start + std::chrono::milliseconds(config.churn_ms);
    while (!LimitReached(config, *state, start)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (config.churn_ms > 0 && Clock::now() >= next_churn) {
        // A worker leaves mid-run (its blocks go on through the queue) and a
        // new thread takes its slot.
        const size_t slot = rng() % workers.size();
        workers[slot].reset();
        start_worker(slot);
        next_churn = Clock::now() + std::chrono::milliseconds(config.churn_ms);
      }
    }
    // Every worker is asked to stop before any is joined: joined one by one,
    // the last of 1024 workers would run on for minutes.
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ops_at_limit = state->TotalOps();
    for (auto& worker : workers) worker->RequestStop();
    workers.clear();  // joins every worker
    progress.reset();
    forker.reset();
    drainer.reset();
  }
  // Before the final checks, whose allocations are not the workers'.
  CheckCoverage(*state, seconds, budget_allows_extension);
  QuiesceAndCheck(*state);
  PrintSummary(*state, seconds, ops_at_limit);
  StressResult result{
      .ops = state->TotalOps(),
      .seconds = seconds,
      .violations = state->violations.count(),
      .injected_faults_caught = state->injected_faults_caught.load(std::memory_order_relaxed)};
  state->zones.clear();  // before their service
  return result;
}

}  // namespace zonealloc::stress
