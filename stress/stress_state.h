// SPDX-License-Identifier: Apache-2.0
// StressState is what every thread of one stress run shares: the service and
// its zones under test, the side table of live blocks, the handoff queue,
// the counters and the violations. It exists so the workers, the forker,
// the drainer and the progress line take one reference rather than ten.
//
// Counters are per worker slot and cache-line aligned, written relaxed by the
// slot's current worker and summed by the progress line and the final
// report; the sums are exact once the workers are joined.

#ifndef ZONEALLOC_STRESS_STRESS_STATE_H_
#define ZONEALLOC_STRESS_STRESS_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>
#include "stress/handoff_queue.h"
#include "stress/live_block_table.h"
#include "stress/stress_config.h"
#include "stress/violations.h"

namespace zonealloc::stress {

struct SlotCounters {
  std::atomic<uint64_t> ops{0};                // Allocate() + Free() calls
  std::atomic<uint64_t> cross_thread_frees{0}; // freed by a worker other than the owner
  std::atomic<uint64_t> big_bursts{0};
};

struct StressState {
  StressState(const StressConfig& config, std::unique_ptr<ZoneService> service,
              std::vector<std::unique_ptr<Zone>> zones)
      : config(config),
        service(std::move(service)),
        zones(std::move(zones)),
        handoff(config.handoff, config.queue_capacity),
        slots(static_cast<size_t>(config.threads)) {}

  uint64_t TotalOps() const {
    uint64_t total = 0;
    for (const auto& slot : slots) total += slot.value.ops.load(std::memory_order_relaxed);
    return total;
  }

  // Checks and frees `block` of zone `zone` on behalf of worker `freer`:
  // its stamp must be valid and the one the side table recorded.
  void CheckAndFree(void* block, uint32_t zone, uint64_t freer, SlotCounters* counters);

  // Checks the budget now: the service's permanent bytes within its budget.
  void CheckBudget(const char* where);

  const StressConfig config;
  std::unique_ptr<ZoneService> service;
  std::vector<std::unique_ptr<Zone>> zones;
  LiveBlockTable live;
  HandoffQueue handoff;
  std::vector<CacheAligned<SlotCounters>> slots;
  Violations violations;
  std::atomic<uint64_t> max_permanent_bytes{0};
  std::atomic<uint64_t> forks{0};
  std::atomic<uint64_t> workers_started{0};
  std::atomic<uint64_t> migrations{0};
  std::atomic<uint64_t> drains{0};
  std::atomic<bool> stamp_fault_injected{false};  // --inject_stamp_fault: done once
  // Violations that were the injected stamp (kInjectedFaultOwner): 1 when
  // the checker caught the fault.
  std::atomic<uint64_t> injected_faults_caught{0};
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_STRESS_STATE_H_
