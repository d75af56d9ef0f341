// SPDX-License-Identifier: Apache-2.0
// ExtensionPolicy is the NT guidelines' rule for ExExtendZone, on its own so
// it can be read and tested apart from the zone's locking:
//
//   A zone may extend permanently only when
//   (1) its blocks are all in use (the caller checks: the policy is asked
//       only from the slow path of an allocation that found the zone full),
//   (2) it has already taken temporary overflow memory more than once -
//       `extend_after_overflow_allocations` times - since it was last not
//       full (one "full episode"), and
//   (3) every overflow block taken in that episode is still in use.
//   Otherwise the allocation overflows.
//
// Anything short of that (a short burst whose overflow drains, a zone that
// keeps becoming not full) overflows and gives the memory back, because an
// extension is never undone while the zone lives.
//
// Episodes. The zone counts, in an epoch, every time it goes from full to
// not full (a free onto an empty free list). Observe(epoch) starts a new
// episode when the epoch moved on since the last call; an older epoch, read
// by a thread before it waited for the lock while others went ahead with a
// newer one, leaves the current episode alone (the zone is full now). A free of any overflow
// block during an episode counts against (3), also one taken in an earlier
// episode: that errs toward not extending.
//
// A capped overflow (ZoneOptions::max_overflow_blocks) that filled in an
// earlier episode cannot be taken in a later one, so the zone also extends
// when the cap is reached: the cap's blocks in use stand for (2) and (3).
// The zone checks that itself.
//
// Not thread-safe: the zone calls it under its slow-path lock.

#ifndef ZONEALLOC_CORE_EXTENSION_POLICY_H_
#define ZONEALLOC_CORE_EXTENSION_POLICY_H_

#include <cstddef>
#include <cstdint>

namespace zonealloc {

class ExtensionPolicy {
 public:
  // REQUIRES: extend_after_overflow_allocations >= 1.
  explicit ExtensionPolicy(size_t extend_after_overflow_allocations)
      : threshold_(extend_after_overflow_allocations) {}

  // Called with the zone's not-full epoch each time the slow path finds the
  // zone full; a later epoch means the zone was not full in between.
  void Observe(uint64_t not_full_epoch) {
    if (not_full_epoch > epoch_) {
      epoch_ = not_full_epoch;
      overflow_allocations_ = 0;
      overflow_frees_ = 0;
    }
  }

  // Rules (2) and (3) for the current episode.
  bool ShouldExtend() const {
    return overflow_allocations_ >= threshold_ && overflow_frees_ == 0;
  }

  void OnOverflowAllocated() { ++overflow_allocations_; }
  void OnOverflowFreed() { ++overflow_frees_; }

  // The zone extended: the next extension waits for
  // `extend_after_overflow_allocations` new overflows, none of them freed.
  // (Unless the extension was of one block, the zone is no longer full and
  // its epoch moves on too.)
  void OnExtended() {
    overflow_allocations_ = 0;
    overflow_frees_ = 0;
  }

  size_t episode_overflow_allocations() const { return overflow_allocations_; }

 private:
  size_t threshold_;
  uint64_t epoch_ = 0;
  size_t overflow_allocations_ = 0;
  size_t overflow_frees_ = 0;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_EXTENSION_POLICY_H_
