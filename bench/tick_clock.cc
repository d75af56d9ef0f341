// SPDX-License-Identifier: Apache-2.0
#include "bench/tick_clock.h"

#include <algorithm>
#include <thread>

namespace zonealloc::bench {
namespace {

// The least of many back-to-back reads: the clock's own cost, which every
// timed interval includes once.
uint64_t MeasureOverheadTicks() {
  uint64_t least = UINT64_MAX;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t start = TickClock::Now();
    const uint64_t end = TickClock::Now();
    least = std::min(least, end - start);
  }
  return least;
}

}  // namespace

TickClock::TickClock()
    : start_time_(std::chrono::steady_clock::now()),
      start_ticks_(Now()),
      overhead_ticks_(MeasureOverheadTicks()) {}

double TickClock::NanosPerTick() const {
  constexpr auto kMinCalibration = std::chrono::milliseconds(10);
  const auto since_start = std::chrono::steady_clock::now() - start_time_;
  if (since_start < kMinCalibration) std::this_thread::sleep_for(kMinCalibration - since_start);
  const uint64_t ticks = Now() - start_ticks_;
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - start_time_);
  return ticks == 0 ? 1.0 : static_cast<double>(nanos.count()) / static_cast<double>(ticks);
}

}  // namespace zonealloc::bench
