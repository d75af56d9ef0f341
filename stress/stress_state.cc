// SPDX-License-Identifier: Apache-2.0
#include "stress/stress_state.h"

#include "absl/strings/str_format.h"

namespace zonealloc::stress {

void StressState::CheckAndFree(void* block, uint32_t zone, uint64_t freer,
                               SlotCounters* counters) {
  const BlockStamp in_block = BlockStamp::ReadFrom(block);
  const std::optional<BlockStamp> recorded = live.Erase(block);
  // Formatted only for a violation: this runs on every free.
  auto where = [&] { return absl::StrFormat("worker %d free (zone %s)", freer, zones[zone]->name()); };
  if (!recorded.has_value()) {
    violations.Report(where(), absl::StrFormat("block %p is not live in the side table (stamp in "
                                             "block: owner %d seq %d zone %d)",
                                             block, in_block.owner, in_block.sequence,
                                             in_block.zone));
  } else if (!in_block.Valid() || !in_block.SameOwnerAs(*recorded)) {
    if (config.inject_stamp_fault && in_block.Valid() &&
        in_block.owner == BlockStamp::kInjectedFaultOwner) {
      injected_faults_caught.fetch_add(1, std::memory_order_relaxed);
    }
    violations.Report(where(), absl::StrFormat("block %p: stamp in block (owner %d seq %d zone %d, "
                                             "check %s) differs from the stamp recorded at "
                                             "allocation (owner %d seq %d zone %d): another owner "
                                             "wrote it",
                                             block, in_block.owner, in_block.sequence,
                                             in_block.zone, in_block.Valid() ? "ok" : "BAD",
                                             recorded->owner, recorded->sequence, recorded->zone));
  }
  if (recorded.has_value() && recorded->zone != zone) {
    violations.Report(where(), absl::StrFormat("block %p recorded in zone %d, handed off as zone %d",
                                             block, recorded->zone, zone));
  }
  if (counters != nullptr) {
    if (recorded.has_value() && recorded->owner != freer) {
      counters->cross_thread_frees.fetch_add(1, std::memory_order_relaxed);
    }
    counters->ops.fetch_add(1, std::memory_order_relaxed);
  }
  // Freed even after a violation: the run goes on to find more.
  if (recorded.has_value()) zones[recorded->zone]->Free(block);
}

void StressState::CheckBudget(const char* where) {
  const uint64_t permanent = service->permanent_bytes();
  uint64_t seen = max_permanent_bytes.load(std::memory_order_relaxed);
  while (permanent > seen &&
         !max_permanent_bytes.compare_exchange_weak(seen, permanent, std::memory_order_relaxed)) {
  }
  if (permanent > service->budget_bytes()) {
    violations.Report(where, absl::StrFormat("service permanent_bytes %d > budget_bytes %d",
                                             permanent, service->budget_bytes()));
  }
}

}  // namespace zonealloc::stress
