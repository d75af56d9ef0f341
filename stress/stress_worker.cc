// SPDX-License-Identifier: Apache-2.0
#include "stress/stress_worker.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/str_format.h"

namespace zonealloc::stress {
namespace {

// Moves the calling thread to one CPU of `allowed`, picked at random, so
// per-CPU caches see threads arrive and leave mid-run.
void MoveToRandomCpu(const cpu_set_t& allowed, std::mt19937_64& rng) {
  const int count = CPU_COUNT(&allowed);
  if (count <= 0) return;
  int pick = static_cast<int>(rng() % static_cast<uint64_t>(count));
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed) && pick-- == 0) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  // A CPU taken offline meanwhile refuses: the thread stays where it is,
  // which costs the run one move.
  (void)sched_setaffinity(0, sizeof(one), &one);
}

}  // namespace

StressWorker::StressWorker(StressState& state, uint64_t id, int slot, const cpu_set_t& allowed)
    : state_(state),
      id_(id),
      counters_(state.slots[static_cast<size_t>(slot)].value),
      allowed_(allowed),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

void StressWorker::Run(std::stop_token stop) {
  const StressConfig& config = state_.config;
  std::mt19937_64 rng(config.seed * 0x9E3779B97F4A7C15ull + id_);
  const uint32_t zone_count = static_cast<uint32_t>(state_.zones.size());
  std::vector<HandedOffBlock> round;  // allocated this round
  std::vector<HandedOffBlock> held;   // kept across rounds
  uint64_t sequence = 0;
  MoveToRandomCpu(allowed_, rng);

  for (uint64_t r = 1; !stop.stop_requested(); ++r) {
    if (r % static_cast<uint64_t>(config.migrate_every) == 0) {
      MoveToRandomCpu(allowed_, rng);
      state_.migrations.fetch_add(1, std::memory_order_relaxed);
    }
    const uint32_t z = static_cast<uint32_t>(rng() % zone_count);
    Zone& zone = *state_.zones[z];
    // A big burst takes up to 1.25x the zone's initial blocks at once: with
    // a few threads bursting together the zone runs full, overflows and
    // extends; their frees drain it back.
    size_t burst = 1 + rng() % 16;
    if (rng() % static_cast<uint64_t>(config.burst_every) == 0) {
      burst = config.initial_blocks / 4 + rng() % config.initial_blocks;
      counters_.big_bursts.fetch_add(1, std::memory_order_relaxed);
    }
    for (size_t i = 0; i < burst; ++i) {
      void* block = zone.Allocate();
      counters_.ops.fetch_add(1, std::memory_order_relaxed);
      if (block == nullptr) {
        state_.violations.Report(
            absl::StrFormat("worker %d Allocate (zone %s)", id_, zone.name()),
            "returned nullptr with no cap set (max_overflow_blocks 0)");
        break;
      }
      const BlockStamp stamp = BlockStamp::For(id_, ++sequence, z);
      if (const std::optional<BlockStamp> other = state_.live.Insert(block, stamp)) {
        state_.violations.Report(
            absl::StrFormat("worker %d Allocate (zone %s)", id_, zone.name()),
            absl::StrFormat("block %p handed out while owner %d's stamp (seq %d, zone %d) is "
                            "live: handed out twice",
                            block, other->owner, other->sequence, other->zone));
        continue;  // not ours to write or free
      }
      stamp.WriteTo(block);
      round.push_back({block, z});
    }
    if (config.inject_stamp_fault && !round.empty() &&
        !state_.stamp_fault_injected.exchange(true, std::memory_order_relaxed)) {
      BlockStamp::For(BlockStamp::kInjectedFaultOwner, 0, round.front().zone)
          .WriteTo(round.front().block);
    }
    // About half to other workers, a few kept, the rest freed here.
    for (const HandedOffBlock& item : round) {
      const uint64_t dice = rng() % 8;
      if (dice < 4 && state_.handoff.try_push(item)) continue;
      if (dice == 4 && held.size() < static_cast<size_t>(config.max_held)) {
        held.push_back(item);
        continue;
      }
      state_.CheckAndFree(item.block, item.zone, id_, &counters_);
    }
    round.clear();
    // Free what others handed over: a little more than this round made, so
    // the queue does not only grow.
    HandedOffBlock item;
    for (size_t i = 0; i < burst + 4 && state_.handoff.try_pop(item); ++i) {
      state_.CheckAndFree(item.block, item.zone, id_, &counters_);
    }
    if (!held.empty() && rng() % 32 == 0) {
      const size_t keep = rng() % held.size();
      for (size_t i = keep; i < held.size(); ++i) {
        state_.CheckAndFree(held[i].block, held[i].zone, id_, &counters_);
      }
      held.resize(keep);
    }
  }
  // Leaving mid-run: what this worker holds lives on in other workers.
  for (const HandedOffBlock& kept : held) {
    if (!state_.handoff.try_push(kept)) state_.CheckAndFree(kept.block, kept.zone, id_, &counters_);
  }
}

}  // namespace zonealloc::stress
