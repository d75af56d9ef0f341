// Test helpers for Zone, shared by the zone tests and the stress tests.

#ifndef ZONEALLOC_CORE_INTERNAL_ZONE_TESTING_H_
#define ZONEALLOC_CORE_INTERNAL_ZONE_TESTING_H_

#include <sched.h>

#include <set>

#include <zonealloc/zone.h>

namespace zonealloc::internal {

// Allocates every free permanent block, wherever it sits (the shared zone or
// any CPU's cache), and returns them; the zone is full afterwards. The caller
// frees them. IsFull() sees only the current CPU's cache and the thread may
// migrate, so a full-looking zone is drained and checked again.
inline std::set<void*> TakeEveryFreeBlock(Zone& zone) {
  std::set<void*> blocks;
  zone.Drain();
  while (true) {
    if (zone.IsFull()) {
      zone.Drain();
      if (zone.IsFull()) return blocks;
    }
    blocks.insert(zone.Allocate());
  }
}

// Keeps the calling thread on the CPU it runs on now, for the scope: a test
// that checks IsFull() step by step must not see another CPU's cache.
class ScopedPinToCurrentCpu {
 public:
  ScopedPinToCurrentCpu() {
    sched_getaffinity(0, sizeof(saved_), &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof(one), &one);
  }
  ~ScopedPinToCurrentCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
  ScopedPinToCurrentCpu(const ScopedPinToCurrentCpu&) = delete;
  ScopedPinToCurrentCpu& operator=(const ScopedPinToCurrentCpu&) = delete;

 private:
  cpu_set_t saved_;
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_ZONE_TESTING_H_
