// SPDX-License-Identifier: Apache-2.0
#include "stress/drain_and_stats_caller.h"

#include <chrono>

#include "absl/strings/str_format.h"

namespace zonealloc::stress {

DrainAndStatsCaller::DrainAndStatsCaller(StressState& state)
    : state_(state), thread_([this](std::stop_token stop) { Run(stop); }) {}

DrainAndStatsCaller::~DrainAndStatsCaller() = default;

void DrainAndStatsCaller::Run(std::stop_token stop) {
  for (uint64_t i = 0; !stop.stop_requested(); ++i) {
    for (const auto& zone : state_.zones) {
      zone->Drain();
      const ZoneStats stats = zone->Stats();
      if (stats.permanent_bytes > state_.service->budget_bytes()) {
        state_.violations.Report(
            absl::StrFormat("Stats() of zone %s", zone->name()),
            absl::StrFormat("zone permanent_bytes %d > service budget %d", stats.permanent_bytes,
                            state_.service->budget_bytes()));
      }
    }
    state_.drains.fetch_add(1, std::memory_order_relaxed);
    if (i % 16 == 0) (void)state_.service->Snapshot();
    state_.CheckBudget("Drain()/Stats() caller");
    std::this_thread::sleep_for(std::chrono::milliseconds(state_.config.drain_every_ms));
  }
}

}  // namespace zonealloc::stress
