// SPDX-License-Identifier: Apache-2.0
#include "stress/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace zonealloc::stress {

uint64_t CurrentRssBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long long pages_total = 0, pages_resident = 0;
  const int read = std::fscanf(statm, "%llu %llu", &pages_total, &pages_resident);
  std::fclose(statm);
  if (read != 2) return 0;
  return pages_resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

ProgressLine::ProgressLine(StressState& state)
    : state_(state), thread_([this](std::stop_token stop) { Run(stop); }) {}

ProgressLine::~ProgressLine() = default;

void ProgressLine::Run(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  uint64_t last_ops = 0;
  while (!stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const Clock::time_point now = Clock::now();
    if (now - last < std::chrono::seconds(1)) continue;
    state_.CheckBudget("progress line");
    const uint64_t ops = state_.TotalOps();
    const double interval = std::chrono::duration<double>(now - last).count();
    size_t in_use = 0, overflow_slabs = 0, overflow_in_use = 0, extensions = 0, refusals = 0;
    for (const auto& zone : state_.zones) {
      const ZoneStats stats = zone->Stats();
      in_use += stats.in_use_blocks;
      overflow_slabs += stats.overflow_slabs_live;
      overflow_in_use += stats.overflow_blocks_in_use;
      extensions += stats.extensions;
      refusals += stats.extension_refusals;
    }
    std::printf(
        "[%s] %5.0fs ops=%llu ops/s=%.0f live=%zu in_use=%zu overflow_slabs=%zu "
        "overflow_in_use=%zu extensions=%zu refusals=%zu permanent=%llu/%llu rss=%.1fMiB "
        "forks=%llu violations=%llu\n",
        std::string(CpuCacheModeName(state_.config.mode)).c_str(),
        std::chrono::duration<double>(now - start).count(), static_cast<unsigned long long>(ops),
        static_cast<double>(ops - last_ops) / interval, state_.live.Size(), in_use,
        overflow_slabs, overflow_in_use, extensions, refusals,
        static_cast<unsigned long long>(state_.service->permanent_bytes()),
        static_cast<unsigned long long>(state_.service->budget_bytes()),
        static_cast<double>(CurrentRssBytes()) / (1 << 20),
        static_cast<unsigned long long>(state_.forks.load(std::memory_order_relaxed)),
        static_cast<unsigned long long>(state_.violations.count()));
    std::fflush(stdout);
    last = now;
    last_ops = ops;
  }
}

}  // namespace zonealloc::stress
