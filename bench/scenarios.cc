// SPDX-License-Identifier: Apache-2.0
#include "bench/scenarios.h"

#include <zonealloc/concurrency/cache_aligned.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>
#include <thread>
#include <utility>

#include "absl/strings/str_format.h"
#include "bench/fast_random.h"
#include "bench/thread_team.h"

namespace zonealloc::bench {
namespace {

// Threads check for the end of the run every this many ops.
constexpr int64_t kOpsPerStopCheck = 64;

// The duration RunTeam stops the threads after: none in --ops mode.
absl::Duration TeamDuration(const ScenarioConfig& config) {
  return config.ops > 0 ? absl::InfiniteDuration() : config.duration;
}

// One BlockOps per thread, merged into the result after the run. BlockOps is
// cache-line aligned, so the threads' counters never share a line.
//
// The timed ops are the frees before each thread's MarkTimedEnd(): set-up
// only allocates (larson and server fill their arrays) and the final frees
// come after the timed part, so neither counts towards throughput.
class TeamBlockOps {
 public:
  TeamBlockOps(int threads, const TickClock& clock) : timed_frees_(threads, 0) {
    for (int i = 0; i < threads; ++i) ops_.push_back(std::make_unique<BlockOps>(i, clock));
  }
  BlockOps& operator[](int thread) { return *ops_[thread]; }

  // Ends `thread`'s timed part, for the clock and for the op count.
  void MarkTimedEnd(int thread, RunControl& control) {
    control.MarkTimedEnd(thread);
    timed_frees_[thread] = ops_[thread]->tally().frees;
  }

  void MergeInto(ScenarioResult& result) const {
    std::vector<const LatencySampler*> samplers;
    for (size_t i = 0; i < ops_.size(); ++i) {
      result.tally.Add(ops_[i]->tally());
      result.ops += timed_frees_[i];
      samplers.push_back(&ops_[i]->latency());
    }
    // Each sample then stands for as many ops whichever thread took it.
    MergeSamples(samplers, result.latency_ticks);
  }

 private:
  std::vector<std::unique_ptr<BlockOps>> ops_;
  std::vector<int64_t> timed_frees_;  // each thread writes its own
};

int ThreadsAsConfigured(const ScenarioConfig& config) { return config.threads; }

std::vector<BlockDemand> OneSize(const ScenarioConfig& config, size_t max_live_blocks) {
  return {{.block_size = config.block_size, .max_live_blocks = max_live_blocks}};
}

// ---- pair: allocate, then free at once ------------------------------------

std::vector<BlockDemand> PairDemand(const ScenarioConfig& config) {
  return OneSize(config, static_cast<size_t>(config.threads));
}

ScenarioResult RunPair(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                       const TickClock& clock) {
  BlockSource& source = allocator.ForSize(config.block_size);
  TeamBlockOps team_ops(config.threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, config.threads);
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(config.threads));
  ScenarioResult result;
  result.timed =
      RunTeam(config.threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
        BlockOps& ops = team_ops[thread];
        control.ArriveAndWaitForStart();
        for (int64_t done = 0; control.KeepRunning(done, quota); done += kOpsPerStopCheck) {
          for (int64_t i = 0; i < kOpsPerStopCheck; ++i) ops.Free(source, ops.Allocate(source));
        }
        team_ops.MarkTimedEnd(thread, control);
      });
  team_ops.MergeInto(result);
  return result;
}

// ---- batch: allocate K, free them in a shuffled order ---------------------

std::vector<BlockDemand> BatchDemand(const ScenarioConfig& config) {
  return OneSize(config, static_cast<size_t>(config.threads) * config.batch_blocks);
}

// A random permutation of 0..n-1, fixed before the timed loop so the loop
// does not time the shuffle. The blocks at each position differ from round
// to round, so the addresses are freed in a different order every round.
std::vector<uint32_t> ShuffledOrder(size_t n, FastRandom& random) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[random.Below(i)]);
  return order;
}

ScenarioResult RunBatch(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                        const TickClock& clock) {
  BlockSource& source = allocator.ForSize(config.block_size);
  TeamBlockOps team_ops(config.threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, config.threads);
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(config.threads));
  ScenarioResult result;
  result.timed =
      RunTeam(config.threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
        BlockOps& ops = team_ops[thread];
        FastRandom random(config.seed, thread);
        std::vector<LiveBlock> blocks(config.batch_blocks);
        const std::vector<uint32_t> order = ShuffledOrder(blocks.size(), random);
        control.ArriveAndWaitForStart();
        for (int64_t done = 0; control.KeepRunning(done, quota);
             done += static_cast<int64_t>(blocks.size())) {
          for (LiveBlock& block : blocks) block = ops.Allocate(source);
          for (uint32_t index : order) ops.Free(source, blocks[index]);
        }
        team_ops.MarkTimedEnd(thread, control);
      });
  team_ops.MergeInto(result);
  return result;
}

// ---- prodcons: producers allocate, consumers free -------------------------

// Blocks pass from producer to consumer in batches, so the hand-off costs a
// little per block and the allocator's remote frees dominate.
constexpr size_t kHandOffBlocks = 64;

// A single-producer, single-consumer ring of block batches.
//
// Protocol: the producer alone writes `tail` and the slots at positions
// [head, head + kSlots); the consumer alone writes `head`. The producer fills
// slot tail % kSlots, then publishes it by storing tail + 1 (release); the
// consumer loads tail (acquire), frees the blocks of slot head % kSlots and
// returns the slot by storing head + 1 (release), which the producer loads
// (acquire) before refilling it. `producer_done` (release) follows the last
// tail store, so a consumer that sees it (acquire) and then finds head ==
// tail has drained everything.
struct HandOffRing {
  static constexpr uint64_t kSlots = 8;
  std::array<std::array<LiveBlock, kHandOffBlocks>, kSlots> slots;
  CacheAligned<std::atomic<uint64_t>> head{0};
  CacheAligned<std::atomic<uint64_t>> tail{0};
  CacheAligned<std::atomic<bool>> producer_done{false};
};

int ProdConsPairs(const ScenarioConfig& config) { return std::max(1, config.threads / 2); }
int ProdConsThreads(const ScenarioConfig& config) { return 2 * ProdConsPairs(config); }

std::vector<BlockDemand> ProdConsDemand(const ScenarioConfig& config) {
  return OneSize(config,
                 static_cast<size_t>(ProdConsPairs(config)) * HandOffRing::kSlots * kHandOffBlocks);
}

void Produce(HandOffRing& ring, BlockOps& ops, BlockSource& source, int64_t quota,
             RunControl& control) {
  for (int64_t done = 0; control.KeepRunning(done, quota);
       done += static_cast<int64_t>(kHandOffBlocks)) {
    const uint64_t tail = ring.tail->load(std::memory_order_relaxed);  // written only here
    while (tail - ring.head->load(std::memory_order_acquire) == HandOffRing::kSlots) {
      if (control.StopRequested()) break;
      std::this_thread::yield();
    }
    if (tail - ring.head->load(std::memory_order_acquire) == HandOffRing::kSlots) break;
    for (LiveBlock& block : ring.slots[tail % HandOffRing::kSlots]) block = ops.Allocate(source);
    ring.tail->store(tail + 1, std::memory_order_release);
  }
  ring.producer_done->store(true, std::memory_order_release);
}

void Consume(HandOffRing& ring, BlockOps& ops, BlockSource& source) {
  uint64_t head = 0;  // ring.head is written only here
  while (true) {
    if (head != ring.tail->load(std::memory_order_acquire)) {
      for (const LiveBlock& block : ring.slots[head % HandOffRing::kSlots]) ops.Free(source, block);
      ring.head->store(++head, std::memory_order_release);
    } else if (ring.producer_done->load(std::memory_order_acquire)) {
      if (head == ring.tail->load(std::memory_order_acquire)) return;  // drained
    } else {
      std::this_thread::yield();
    }
  }
}

ScenarioResult RunProdCons(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                           const TickClock& clock) {
  BlockSource& source = allocator.ForSize(config.block_size);
  const int pairs = ProdConsPairs(config);
  std::vector<std::unique_ptr<HandOffRing>> rings;
  for (int i = 0; i < pairs; ++i) rings.push_back(std::make_unique<HandOffRing>());
  const int threads = ProdConsThreads(config);
  TeamBlockOps team_ops(threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, pairs);
  const std::vector<int> cpus = TeamCpus(config, ProdConsTurns(pairs));
  ScenarioResult result;
  // Threads [0, pairs) produce into ring i; threads [pairs, 2 pairs) consume.
  result.timed = RunTeam(threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
    HandOffRing& ring = *rings[thread % pairs];
    control.ArriveAndWaitForStart();
    if (thread < pairs) {
      Produce(ring, team_ops[thread], source, quota, control);
    } else {
      Consume(ring, team_ops[thread], source);
    }
    team_ops.MarkTimedEnd(thread, control);
  });
  team_ops.MergeInto(result);
  return result;
}

// ---- larson: random replacement in arrays handed between threads ----------

// Replacements between two hand-offs of a thread's array.
size_t LarsonRound(const ScenarioConfig& config) { return config.larson_slots; }

std::vector<BlockDemand> LarsonDemand(const ScenarioConfig& config) {
  return OneSize(config, 2 * static_cast<size_t>(config.threads) * config.larson_slots);
}

using LarsonArray = std::vector<LiveBlock>;

// Hand-off protocol: there are 2 x threads arrays. Each is held by exactly
// one thread or sits in exactly one mailbox. A thread swaps the array it
// holds for a mailbox's with one exchange (acq_rel: the giver's writes to the
// array happen before the taker's reads), so it usually goes on with an
// array another thread filled, and its frees are remote.
ScenarioResult RunLarson(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                         const TickClock& clock) {
  BlockSource& source = allocator.ForSize(config.block_size);
  const int threads = config.threads;
  std::vector<LarsonArray> arrays(2 * threads, LarsonArray(config.larson_slots));
  std::vector<CacheAligned<std::atomic<LarsonArray*>>> mailboxes(threads);
  std::barrier all_stopped(threads);
  TeamBlockOps team_ops(threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, threads);
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(threads));
  ScenarioResult result;
  result.timed = RunTeam(threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
    BlockOps& ops = team_ops[thread];
    FastRandom random(config.seed, thread);
    LarsonArray* held = &arrays[thread];
    for (LiveBlock& block : *held) block = ops.Allocate(source);
    for (LiveBlock& block : arrays[threads + thread]) block = ops.Allocate(source);
    // release: published to the other threads by the start gate.
    mailboxes[thread]->store(&arrays[threads + thread], std::memory_order_release);
    control.ArriveAndWaitForStart();
    const size_t round = LarsonRound(config);
    for (int64_t done = 0; control.KeepRunning(done, quota);
         done += static_cast<int64_t>(round)) {
      for (size_t i = 0; i < round; ++i) {
        LiveBlock& slot = (*held)[random.Below(held->size())];
        ops.Free(source, slot);
        slot = ops.Allocate(source);
      }
      held = mailboxes[random.Below(threads)]->exchange(held, std::memory_order_acq_rel);
    }
    team_ops.MarkTimedEnd(thread, control);
    all_stopped.arrive_and_wait();  // no exchange after this point
    for (const LiveBlock& block : *held) ops.Free(source, block);
    for (const LiveBlock& block : *mailboxes[thread]->load(std::memory_order_acquire)) {
      ops.Free(source, block);
    }
  });
  team_ops.MergeInto(result);
  return result;
}

// ---- burst: idle-burst-idle cycles, RSS over time -------------------------

constexpr absl::Duration kRssInterval = absl::Milliseconds(2);

std::vector<BlockDemand> BurstDemand(const ScenarioConfig& config) {
  return OneSize(config, static_cast<size_t>(config.threads) * config.burst_blocks);
}

// Decides, once per cycle and for all threads at once, whether another
// cycle runs: the run lasts `duration` from the first cycle, or `max_cycles`.
// Runs as the completion step of the cycle barrier, so every thread sees the
// same answer.
struct BurstCycleGate {
  using Clock = std::chrono::steady_clock;
  struct State {
    int64_t cycles_started = 0;
    int64_t max_cycles;
    Clock::duration duration;
    Clock::time_point deadline = Clock::time_point::max();
    bool keep_going = true;
  };
  State* state;

  void operator()() noexcept {
    const Clock::time_point now = Clock::now();
    if (state->cycles_started == 0 && state->duration != Clock::duration::max()) {
      state->deadline = now + state->duration;
    }
    state->keep_going = state->cycles_started < state->max_cycles && now < state->deadline;
    ++state->cycles_started;
  }
};

ScenarioResult RunBurst(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                        const TickClock& clock) {
  using Clock = BurstCycleGate::Clock;
  BlockSource& source = allocator.ForSize(config.block_size);
  const int threads = config.threads;
  const int64_t blocks_per_cycle = threads * static_cast<int64_t>(config.burst_blocks);
  BurstCycleGate::State gate_state{
      .max_cycles = config.ops > 0 ? std::max<int64_t>(1, config.ops / blocks_per_cycle)
                                   : std::numeric_limits<int64_t>::max(),
      .duration =
          config.ops > 0 ? Clock::duration::max() : absl::ToChronoNanoseconds(config.duration)};
  std::barrier cycle_barrier(threads, BurstCycleGate{&gate_state});
  std::vector<Clock::duration> busy(threads, Clock::duration::zero());
  TeamBlockOps team_ops(threads, clock);
  RssSampler rss(kRssInterval, [&source] { return source.Counters(); });
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(threads));
  RunTeam(threads, absl::InfiniteDuration(), cpus, [&](int thread, RunControl& control) {
    BlockOps& ops = team_ops[thread];
    std::vector<LiveBlock> blocks(config.burst_blocks);
    control.ArriveAndWaitForStart();
    while (true) {
      cycle_barrier.arrive_and_wait();
      if (!gate_state.keep_going) break;
      const Clock::time_point start = Clock::now();
      for (LiveBlock& block : blocks) block = ops.Allocate(source);
      for (const LiveBlock& block : blocks) ops.Free(source, block);
      busy[thread] += Clock::now() - start;
      absl::SleepFor(config.burst_idle);
    }
    team_ops.MarkTimedEnd(thread, control);
  });
  ScenarioResult result;
  result.rss_over_time = rss.Stop();
  result.timed = absl::FromChrono(*std::max_element(busy.begin(), busy.end()));
  team_ops.MergeInto(result);
  return result;
}

// ---- fill: allocate many blocks, then free them all ----------------------

std::vector<BlockDemand> FillDemand(const ScenarioConfig& config) {
  return OneSize(config, static_cast<size_t>(config.threads) * config.fill_blocks);
}

// Each round allocates fill_blocks blocks (the stamp writes to each, so
// every page is touched) and then frees them in the order they came. Rounds
// repeat until the duration is over or the thread's share of --ops is done;
// at least one runs. What the scenario is for is the peak RSS of holding
// them all and the RSS left once they are freed.
ScenarioResult RunFill(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                       const TickClock& clock) {
  BlockSource& source = allocator.ForSize(config.block_size);
  TeamBlockOps team_ops(config.threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, config.threads);
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(config.threads));
  ScenarioResult result;
  result.timed =
      RunTeam(config.threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
        BlockOps& ops = team_ops[thread];
        std::vector<LiveBlock> blocks(config.fill_blocks);
        control.ArriveAndWaitForStart();
        for (int64_t done = 0; control.KeepRunning(done, quota);
             done += static_cast<int64_t>(blocks.size())) {
          for (LiveBlock& block : blocks) block = ops.Allocate(source);
          for (const LiveBlock& block : blocks) ops.Free(source, block);
        }
        team_ops.MarkTimedEnd(thread, control);
      });
  team_ops.MergeInto(result);
  return result;
}

// ---- server: three sizes, requests with random lifetimes ------------------

// Blocks of one request: one 256-byte request object, 1 to 5 64-byte header
// objects, and a 1024-byte body buffer one time in four.
constexpr size_t kMaxRequestBlocks = 7;
constexpr size_t kMaxHeaderBlocks = 5;

struct Request {
  std::array<LiveBlock, kMaxRequestBlocks> blocks;
  std::array<uint8_t, kMaxRequestBlocks> size_index;  // into kServerBlockSizes
  uint8_t count = 0;
};

std::vector<BlockDemand> ServerDemand(const ScenarioConfig& config) {
  const size_t requests = static_cast<size_t>(config.threads) * config.server_requests;
  return {{.block_size = kServerBlockSizes[0], .max_live_blocks = requests * kMaxHeaderBlocks},
          {.block_size = kServerBlockSizes[1], .max_live_blocks = requests},
          {.block_size = kServerBlockSizes[2], .max_live_blocks = requests}};
}

// The three sources of one server run, by size index.
using ServerSources = std::array<BlockSource*, std::size(kServerBlockSizes)>;

void StartRequest(Request& request, BlockOps& ops, const ServerSources& sources,
                  FastRandom& random) {
  auto add = [&](uint8_t size_index) {
    request.size_index[request.count] = size_index;
    request.blocks[request.count++] = ops.Allocate(*sources[size_index]);
  };
  add(1);
  const size_t headers = 1 + random.Below(kMaxHeaderBlocks);
  for (size_t i = 0; i < headers; ++i) add(0);
  if (random.Below(4) == 0) add(2);
}

// Frees the request's blocks; returns how many.
int64_t FinishRequest(Request& request, BlockOps& ops, const ServerSources& sources) {
  for (uint8_t i = 0; i < request.count; ++i) {
    ops.Free(*sources[request.size_index[i]], request.blocks[i]);
  }
  const int64_t freed = request.count;
  request.count = 0;
  return freed;
}

ScenarioResult RunServer(const ScenarioConfig& config, AllocatorUnderTest& allocator,
                         const TickClock& clock) {
  ServerSources sources;
  for (size_t i = 0; i < sources.size(); ++i) sources[i] = &allocator.ForSize(kServerBlockSizes[i]);
  TeamBlockOps team_ops(config.threads, clock);
  const int64_t quota = QuotaPerThread(config.ops, config.threads);
  const std::vector<int> cpus = TeamCpus(config, InOrderTurns(config.threads));
  ScenarioResult result;
  result.timed =
      RunTeam(config.threads, TeamDuration(config), cpus, [&](int thread, RunControl& control) {
        BlockOps& ops = team_ops[thread];
        FastRandom random(config.seed, thread);
        std::vector<Request> in_flight(config.server_requests);
        for (Request& request : in_flight) StartRequest(request, ops, sources, random);
        control.ArriveAndWaitForStart();
        for (int64_t done = 0; control.KeepRunning(done, quota);) {
          for (int64_t i = 0; i < kOpsPerStopCheck; ++i) {
            Request& request = in_flight[random.Below(in_flight.size())];
            done += FinishRequest(request, ops, sources);
            StartRequest(request, ops, sources, random);
          }
        }
        team_ops.MarkTimedEnd(thread, control);
        for (Request& request : in_flight) FinishRequest(request, ops, sources);
      });
  team_ops.MergeInto(result);
  return result;
}

// ---- the list --------------------------------------------------------------

constexpr Scenario kScenarios[] = {
    {"pair", "allocate then free at once, per thread", true, ThreadsAsConfigured, PairDemand,
     RunPair},
    {"batch", "allocate batch_blocks, free them in a shuffled order", true, ThreadsAsConfigured,
     BatchDemand, RunBatch},
    {"prodcons", "producers allocate, consumers free (remote frees); threads/2 pairs", true,
     ProdConsThreads, ProdConsDemand, RunProdCons},
    {"larson", "replace random slots of arrays handed between threads", true, ThreadsAsConfigured,
     LarsonDemand, RunLarson},
    {"burst", "idle-burst-idle cycles, RSS over time", true, ThreadsAsConfigured, BurstDemand,
     RunBurst},
    {"fill", "allocate fill_blocks, then free them all (peak and final RSS)", true,
     ThreadsAsConfigured, FillDemand, RunFill},
    {"server", "64/256/1024-byte request objects with random lifetimes", false, ThreadsAsConfigured,
     ServerDemand, RunServer},
};

absl::Status ValidateConfig(const Scenario& scenario, const ScenarioConfig& config) {
  if (config.threads < 1 || config.threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads=%d not in [1, 1024]", config.threads));
  }
  if (scenario.uses_block_size &&
      (config.block_size < kMinBenchBlockSize || config.block_size > (size_t{1} << 20))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("block_size=%d not in [%d, 1 MiB]", config.block_size, kMinBenchBlockSize));
  }
  if (config.ops < 0) return absl::InvalidArgumentError(absl::StrFormat("ops=%d < 0", config.ops));
  if (config.ops == 0 && config.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("give a positive duration or ops");
  }
  if (config.batch_blocks == 0 || config.larson_slots == 0 || config.burst_blocks == 0 ||
      config.fill_blocks == 0 || config.server_requests == 0) {
    return absl::InvalidArgumentError(
        "batch_blocks, larson_slots, burst_blocks, fill_blocks and server_requests must be "
        "positive");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<int> InOrderTurns(int threads) {
  std::vector<int> turns(threads);
  std::iota(turns.begin(), turns.end(), 0);
  return turns;
}

std::vector<int> ProdConsTurns(int pairs) {
  std::vector<int> turns(2 * pairs);
  for (int i = 0; i < pairs; ++i) {
    turns[i] = 2 * i;
    turns[pairs + i] = 2 * i + 1;
  }
  return turns;
}

std::vector<int> TeamCpus(const ScenarioConfig& config, std::span<const int> turns) {
  if (!config.pin_threads) return {};
  return DealCpus(turns);
}

double ScenarioResult::mops() const {
  const double seconds = absl::ToDoubleSeconds(timed);
  return seconds > 0 ? static_cast<double>(ops) / seconds / 1e6 : 0;
}

std::span<const Scenario> AllScenarios() { return kScenarios; }

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario& scenario : kScenarios) {
    if (scenario.name == name) return &scenario;
  }
  return nullptr;
}

std::string SelfCheck(const ScenarioResult& result, const AllocatorUnderTest& allocator) {
  const BlockTally& tally = result.tally;
  if (tally.failed_allocations > 0) {
    return absl::StrFormat("%d allocations returned nullptr", tally.failed_allocations);
  }
  if (tally.corrupted_blocks > 0) {
    return absl::StrFormat("%d blocks changed while live (handed out twice?)",
                           tally.corrupted_blocks);
  }
  if (tally.allocations != tally.frees) {
    return absl::StrFormat("%d blocks allocated but %d freed", tally.allocations, tally.frees);
  }
  if (tally.frees == 0) return "no block was allocated and freed";
  const std::optional<int64_t> in_use = allocator.InUseBlocks();
  if (in_use.has_value() && *in_use != 0) {
    return absl::StrFormat("the allocator counts %d blocks in use after all were freed", *in_use);
  }
  return "";
}

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario, const ScenarioConfig& config,
                                           AllocatorUnderTest& allocator) {
  if (absl::Status valid = ValidateConfig(scenario, config); !valid.ok()) return valid;
  const int threads_used = scenario.threads_used(config);
  if (threads_used > 1 && !allocator.thread_safe()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("allocator '%s' serves one thread; scenario '%s' runs %d threads",
                        allocator.name(), scenario.name, threads_used));
  }
  const TickClock clock;
  ScenarioResult result = scenario.run(config, allocator, clock);
  result.threads_used = threads_used;
  result.latency = SummarizeLatency(result.latency_ticks, clock.NanosPerTick());
  result.zone_counters = allocator.SummedZoneCounters();
  result.check_error = SelfCheck(result, allocator);
  return result;
}

}  // namespace zonealloc::bench
