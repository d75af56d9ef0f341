// SPDX-License-Identifier: Apache-2.0
// The scenarios of the scenario benchmark: each is one way a program uses a
// fixed-size allocator, run on a team of threads for a duration (or an
// operation count) against one AllocatorUnderTest.
//
//   pair      allocate a block and free it at once, on every thread
//   batch     allocate batch_blocks blocks, free them in a shuffled order
//   prodcons  producers allocate, consumers free (every free is remote)
//   larson    threads replace random slots of block arrays that they hand
//             to each other (after Larson and Krishnan's server benchmark)
//   burst     idle-burst-idle cycles; RSS is sampled over time
//   fill      allocate fill_blocks blocks, then free them all: peak and
//             final RSS of a large working set
//   server    three sizes (64, 256, 1024 bytes) of request objects with a
//             working set and random lifetimes, like a request server
//
// One operation ("op") is one block allocated and freed; throughput counts
// ops. Each scenario checks its own work (see BlockOps and SelfCheck): a run
// in which a block was lost, handed out twice or not allocated reports the
// failure instead of a time.
//
//   const Scenario& pair = *FindScenario("pair");
//   ScenarioConfig config{.threads = 2, .block_size = 64};
//   auto allocator = CreateAllocatorUnderTest("zone", pair.demand(config));
//   absl::StatusOr<ScenarioResult> result = RunScenario(pair, config, **allocator);
//   if (result->check_error.empty()) ... result->mops() ...

#ifndef ZONEALLOC_BENCH_SCENARIOS_H_
#define ZONEALLOC_BENCH_SCENARIOS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/allocator_under_test.h"
#include "bench/block_ops.h"
#include "bench/latency_sampler.h"
#include "bench/rss.h"
#include "bench/tick_clock.h"

namespace zonealloc::bench {

struct ScenarioConfig {
  int threads = 1;
  size_t block_size = 64;  // ignored by `server`, which uses kServerBlockSizes
  absl::Duration duration = absl::Milliseconds(250);
  int64_t ops = 0;  // > 0: run about this many ops in total instead of for `duration`
  uint64_t seed = 42;
  // Thread i runs only on the i-th CPU this process may use, round-robin
  // (prodcons: each consumer on the CPU after its producer's), so every
  // contender of a cell gets the same placement. false: the kernel decides.
  bool pin_threads = true;

  size_t batch_blocks = 4096;   // batch: blocks per batch, per thread
  size_t larson_slots = 1024;   // larson: slots per array (two arrays per thread)
  size_t burst_blocks = 32768;  // burst: blocks per thread per burst
  absl::Duration burst_idle = absl::Milliseconds(25);  // burst: sleep after each burst
  size_t fill_blocks = size_t{1} << 20;                // fill: blocks per thread per round
  size_t server_requests = 256;                        // server: requests in flight per thread
};

inline constexpr size_t kServerBlockSizes[] = {64, 256, 1024};

// Thread placement (see DealCpus and ScenarioConfig::pin_threads): where a
// team runs whose thread i takes turn turns[i], or {} (the kernel places
// the threads) when config.pin_threads is false.
std::vector<int> TeamCpus(const ScenarioConfig& config, std::span<const int> turns);
// Thread i takes turn i: threads spread over the CPUs in index order.
std::vector<int> InOrderTurns(int threads);
// prodcons: producer i (thread i) takes turn 2i and its consumer (thread
// pairs + i) turn 2i + 1, so where there are two CPUs or more every
// consumer runs on another CPU than its producer and every free is remote,
// not only where the kernel happened to split a pair.
std::vector<int> ProdConsTurns(int pairs);

struct ScenarioResult {
  int threads_used = 0;
  int64_t ops = 0;       // blocks allocated and freed
  absl::Duration timed;  // the time the ops took (burst: the busy part only)
  BlockTally tally;
  LatencySummary latency;                // one allocate + one free, sampled
  std::vector<uint64_t> latency_ticks;   // the raw samples of all threads
  std::vector<RssSample> rss_over_time;  // burst only
  // A Zone's counters at the end, summed over its zones: whole-run totals,
  // set-up and final frees included. nullopt for other allocators.
  std::optional<ZoneCounters> zone_counters;
  std::string check_error;  // empty: the self-check passed

  // Millions of ops per second; 0 when nothing was timed.
  double mops() const;
};

struct Scenario {
  std::string_view name;
  std::string_view summary;
  // False when the scenario picks its own block sizes (server).
  bool uses_block_size;
  // Threads the scenario runs for `config.threads` (prodcons: pairs).
  int (*threads_used)(const ScenarioConfig& config);
  // The sizes and the most blocks of each alive at once, for sizing pools.
  std::vector<BlockDemand> (*demand)(const ScenarioConfig& config);
  // Runs the scenario; RunScenario() adds ops, latency and the self-check.
  ScenarioResult (*run)(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                        const TickClock& clock);
};

std::span<const Scenario> AllScenarios();

// nullptr for an unknown name.
const Scenario* FindScenario(std::string_view name);

// Runs `scenario` on `allocator` (created from scenario.demand(config)) and
// checks its work. InvalidArgument for a bad config, or a single-thread
// allocator asked to serve several threads; a failed self-check is not an
// error but result.check_error.
absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario, const ScenarioConfig& config,
                                           AllocatorUnderTest& allocator);

// Empty when the counts show every block allocated, intact and freed;
// otherwise what went wrong.
std::string SelfCheck(const ScenarioResult& result, const AllocatorUnderTest& allocator);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_SCENARIOS_H_
