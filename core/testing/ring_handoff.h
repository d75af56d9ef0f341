// SPDX-License-Identifier: Apache-2.0
// A test driver for the adapters' multi-thread tests: threads in a ring
// that each fill a container and hand it to the next thread, which frees it,
// while its own next container is being filled. So blocks are allocated on
// one thread and freed on another, and allocations and frees overlap.
// Never installed (core/testing/, see zone_testing.h).

#ifndef ZONEALLOC_CORE_TESTING_RING_HANDOFF_H_
#define ZONEALLOC_CORE_TESTING_RING_HANDOFF_H_

#include <barrier>
#include <cstddef>
#include <thread>
#include <vector>

namespace zonealloc::internal {

// Elements per container in the adapters' multi-thread tests: millions of
// nodes in all in a plain build, a quarter under a sanitizer (ThreadSanitizer
// runs each such test in about 4 s on two busy cores).
#if defined(ZONEALLOC_SANITIZER_BUILD)
inline constexpr size_t kRingNodesPerFill = 31'250;
#else
inline constexpr size_t kRingNodesPerFill = 125'000;
#endif
inline constexpr int kRingThreads = 4;
inline constexpr int kRingRounds = 4;

// Runs `threads` threads for `rounds` rounds over 2 x `threads` slots
// (`slots`, made by the caller). In round r, thread t calls fill(t, slot)
// on its slot of parity r % 2, waits until every thread has filled, then
// calls drain(t, slot) on thread t + 1's slot of the same parity. Slots
// never race: a slot is filled again two rounds later, after the barrier of
// the round in between, which its drainer reached only once it had drained.
template <typename Slot, typename Fill, typename Drain>
void RunRingHandoff(int threads, int rounds, std::vector<Slot>& slots, Fill fill, Drain drain) {
  std::barrier filled(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const int parity = r % 2;
        fill(t, slots[2 * t + parity]);
        filled.arrive_and_wait();
        const int next = (t + 1) % threads;
        drain(t, slots[2 * next + parity]);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_RING_HANDOFF_H_
