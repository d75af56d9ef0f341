// SPDX-License-Identifier: Apache-2.0
// HandoffQueue carries live blocks from the thread that allocated them to
// whichever worker pops them next, so most frees are cross-thread. Bounded,
// so a burst cannot park unbounded blocks in it, and non-blocking
// (try_push/try_pop) so no worker ever waits on it: a stopping worker must
// never block.
//
// Two implementations, picked per run (--handoff):
//   kTbb:    oneTBB's tbb::concurrent_bounded_queue, the choice.
//            Its pushes and pops take ordered tickets and a ticket's
//            successor spin-waits for it, so with many more threads than
//            CPUs, each pinned to one CPU, a preempted ticket holder stalls
//            the others (measured figures: README.md, "The tbb queue and
//            many threads per CPU").
//   kLocked: a std::deque behind a std::mutex: the waiters sleep instead,
//            faster with many threads per CPU, for the long runs.
// Under ThreadSanitizer only kLocked is built: oneTBB allocates the queue's
// pages in code that is not instrumented, which ThreadSanitizer reports as
// races (as in zone_stress_test.cc).

#ifndef ZONEALLOC_STRESS_HANDOFF_QUEUE_H_
#define ZONEALLOC_STRESS_HANDOFF_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include <zonealloc/concurrency/sanitizers.h>

#if !defined(ZONEALLOC_COMPILING_WITH_TSAN)
#define ZONEALLOC_STRESS_HAVE_TBB_HANDOFF 1
#include <tbb/concurrent_queue.h>
#endif

namespace zonealloc::stress {

// A block in flight and the zone it belongs to.
struct HandedOffBlock {
  void* block = nullptr;
  uint32_t zone = 0;
};

enum class HandoffKind { kTbb, kLocked };

// Whether this build has the oneTBB queue (not under ThreadSanitizer).
inline constexpr bool kHaveTbbHandoff =
#if defined(ZONEALLOC_STRESS_HAVE_TBB_HANDOFF)
    true;
#else
    false;
#endif

class HandoffQueue {
 public:
  // REQUIRES: kind is kLocked unless kHaveTbbHandoff.
  HandoffQueue(HandoffKind kind, size_t capacity) : kind_(kind), capacity_(capacity) {
#if defined(ZONEALLOC_STRESS_HAVE_TBB_HANDOFF)
    tbb_.set_capacity(static_cast<std::ptrdiff_t>(capacity));
#endif
  }

  bool try_push(const HandedOffBlock& item) {
#if defined(ZONEALLOC_STRESS_HAVE_TBB_HANDOFF)
    if (kind_ == HandoffKind::kTbb) return tbb_.try_push(item);
#endif
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.size() >= capacity_) return false;
    items_.push_back(item);
    return true;
  }

  bool try_pop(HandedOffBlock& item) {
#if defined(ZONEALLOC_STRESS_HAVE_TBB_HANDOFF)
    if (kind_ == HandoffKind::kTbb) return tbb_.try_pop(item);
#endif
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.empty()) return false;
    item = items_.front();
    items_.pop_front();
    return true;
  }

 private:
  const HandoffKind kind_;
  const size_t capacity_;
#if defined(ZONEALLOC_STRESS_HAVE_TBB_HANDOFF)
  tbb::concurrent_bounded_queue<HandedOffBlock> tbb_;
#endif
  std::mutex mu_;
  std::deque<HandedOffBlock> items_;
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_HANDOFF_QUEUE_H_
