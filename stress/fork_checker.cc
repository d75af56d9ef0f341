// SPDX-License-Identifier: Apache-2.0
#include "stress/fork_checker.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>

#include "absl/strings/str_format.h"
#include <zonealloc/testing/zone_testing.h>

namespace zonealloc::stress {
namespace {

using std::chrono::steady_clock;

constexpr int kBlocksPerZone = 16;

// The child's work; its exit status. Only zonealloc's Allocate() and Free()
// and plain memory: the child has one thread, and the parent's other
// threads may have held any other lock (the side table's, the queue's, and
// under AddressSanitizer its allocator's, which GCC 12's does not take
// around fork() as glibc's does). So the child makes no malloc call of its
// own, not even through Stats() (zone_fork_test covers that); Allocate()
// and Free() never call the heap (zone_no_heap_test).
int UseZonesInChild(StressState& state) {
  std::array<void*, kBlocksPerZone> blocks;
  for (size_t z = 0; z < state.zones.size(); ++z) {
    Zone& zone = *state.zones[z];
    for (int i = 0; i < kBlocksPerZone; ++i) {
      void* block = zone.Allocate();
      if (block == nullptr) return 1;
      BlockStamp::For(~uint64_t{0}, static_cast<uint64_t>(i), static_cast<uint32_t>(z))
          .WriteTo(block);
      blocks[static_cast<size_t>(i)] = block;
    }
    for (int i = 0; i < kBlocksPerZone; ++i) {
      const BlockStamp stamp = BlockStamp::ReadFrom(blocks[static_cast<size_t>(i)]);
      if (!stamp.Valid() || stamp.sequence != static_cast<uint64_t>(i)) return 2;
    }
    for (void* block : blocks) zone.Free(block);
  }
  return 0;
}

}  // namespace

ForkChecker::ForkChecker(StressState& state)
    : state_(state), thread_([this](std::stop_token stop) { Run(stop); }) {}

ForkChecker::~ForkChecker() = default;

void ForkChecker::Run(std::stop_token stop) {
  const auto period = std::chrono::milliseconds(state_.config.fork_every_ms);
  auto next = steady_clock::now() + period;
  while (!stop.stop_requested()) {
    if (steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    next = steady_clock::now() + period;
    const pid_t child = fork();
    if (child < 0) {
      state_.violations.Report("forker", absl::StrFormat("fork() failed: errno %d", errno));
      continue;
    }
    if (child == 0) _exit(UseZonesInChild(state_));
    const int status =
        internal::WaitOrKill(child, std::chrono::seconds(state_.config.fork_timeout_s));
    state_.forks.fetch_add(1, std::memory_order_relaxed);
    if (status == internal::kWaitTimedOut) {
      state_.violations.Report("forker", absl::StrFormat("child %d hung: killed after %d s", child,
                                                         state_.config.fork_timeout_s));
    } else if (status == internal::kWaitFailed) {
      state_.violations.Report("forker", absl::StrFormat("child %d: cannot wait for it (why: the "
                                                         "WaitOrKill line above)",
                                                         child));
    } else if (status != 0) {
      state_.violations.Report(
          "forker", absl::StrFormat("child %d failed with status %d (1: Allocate nullptr, 2: "
                                    "stamp overwritten, >128: signal)",
                                    child, status));
    }
  }
}

}  // namespace zonealloc::stress
