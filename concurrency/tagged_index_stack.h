// SPDX-License-Identifier: Apache-2.0
// TaggedIndexStack is the shared free list of an interlocked zone: a
// lock-free LIFO (Treiber stack) of block indices whose head carries a
// version tag, so it is safe against ABA.
//
// Use it for the permanent blocks of one zone, or for handles of groups of
// them (SharedZone's batch slots). It stores no entries itself: the owner
// supplies `links`, one std::atomic<uint32_t> per index, and links[i] is the
// index below i while i is on the stack.
//
// Synchronization protocol
//   head_     written only by compare-and-swap (or exchange); every successful
//             update stores a tag one greater than the tag it replaced.
//   links[i]  written by a pusher before the CAS that publishes i, and read by
//             poppers after an acquire load of a head naming i.
//
//   Push/PushChain: links[last] = head.index (relaxed), then CAS head ->
//     {first, tag+1} with release (seq_cst, for Zone), so the link and
//     everything the pusher wrote into the blocks happen-before any thread
//     that pops them.
//   Pop: load head with acquire, read next = links[head.index] (relaxed: the
//     acquire on head orders it after the push that wrote it), then CAS head
//     -> {next, tag+1} with acquire.
//
// The ABA problem, and why the tag stops it. Stack A -> B -> C:
//   Thread 1: Pop reads head {A, t} and next = B, then is preempted.
//   Thread 2: Pop A; Pop B (B is now in use); Push A. Stack: A -> C, head
//             {A, t+3}.
//   Thread 1: CAS(head, {A, t} -> {B, t+1}). Without a tag the head would
//             read just "A", the CAS would succeed and install B, a block in
//             use, as the top of the free list. With the tag the head is
//             {A, t+3} != {A, t}, the CAS fails, and thread 1 retries.
// The tag is 32 bits and wraps, so ABA needs a popper to stall between its
// load and its CAS while exactly a multiple of 2^32 updates happen and the
// same index is back on top: over four billion pushes and pops (tens of
// seconds of nothing but stack traffic) inside one preemption window.
//
// Reading links[i] for a block i that another thread has just popped (and is
// writing user data into) is safe: the links live beside the blocks, not in
// them, so the read never races with user data, and the link array is never
// unmapped while the zone lives. A stale `next` read that way is discarded
// because the CAS fails on the changed tag.
//
// Hooks: a template parameter whose BeforePopCas(index, next) runs between a
// pop's read of the head and its CAS. Production uses NoStackHooks, which
// compiles away; tests use it to force the interleaving above.
//
// StackTag: kVersioned (the default, and the only one production uses) bumps
// the tag on every update as described above. kUnversionedForTesting keeps
// the tag unchanged, i.e. the plain Treiber stack the ABA paragraph warns
// about; it exists only so the forced-ABA test can show that it detects the
// corruption when the tag is missing (tagged_index_stack_test.cc). The choice
// is an `if constexpr`, so the default stack compiles to the same code.

#ifndef ZONEALLOC_CONCURRENCY_TAGGED_INDEX_STACK_H_
#define ZONEALLOC_CONCURRENCY_TAGGED_INDEX_STACK_H_

#include <atomic>
#include <cstdint>

#include <zonealloc/concurrency/tagged_index.h>

namespace zonealloc {

struct NoStackHooks {
  void BeforePopCas(uint32_t /*index*/, uint32_t /*next*/) {}
};

// Whether every successful head update bumps the tag (see "StackTag" above).
enum class StackTag { kVersioned, kUnversionedForTesting };

template <typename Hooks = NoStackHooks, StackTag kTag = StackTag::kVersioned>
class TaggedIndexStack {
 public:
  // REQUIRES: links outlives the stack and has an entry for every index that
  // is ever pushed.
  explicit TaggedIndexStack(std::atomic<uint32_t>* links) : links_(links) {}

  TaggedIndexStack(const TaggedIndexStack&) = delete;
  TaggedIndexStack& operator=(const TaggedIndexStack&) = delete;

  // True when the stack held no index at the moment of the load. relaxed
  // by default: a hint for IsFull(); a caller that acts on it re-checks with
  // Pop(). seq_cst for a caller that orders it against its own seq_cst
  // store (Zone's spare-slab protocol pairs it with the push's CAS).
  bool Empty(std::memory_order order = std::memory_order_relaxed) const {
    return TaggedIndex::FromWord(head_.load(order)).empty();
  }

  // Returns true when the stack was empty before the push.
  bool Push(uint32_t index) { return PushChain(index, index); }

  // Pushes first -> ... -> last, already linked through links[], with one
  // CAS. Returns true when the stack was empty before the push.
  bool PushChain(uint32_t first, uint32_t last) {
    // relaxed: the CAS below re-validates the value and publishes it.
    TaggedIndex head = TaggedIndex::FromWord(head_.load(std::memory_order_relaxed));
    uint64_t expected = head.word();
    do {
      head = TaggedIndex::FromWord(expected);
      // relaxed: published by the CAS that follows.
      links_[last].store(head.index(), std::memory_order_relaxed);
      // seq_cst on success (release is all the stack needs): Zone's
      // spare-slab protocol orders a push against a later load of its own;
      // on x86 a locked cmpxchg is a full barrier either way.
    } while (!head_.compare_exchange_weak(expected, Advance(head, first).word(),
                                          std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    return head.empty();
  }

  // Returns the top index, or kNoIndex when the stack is empty.
  uint32_t Pop() {
    // acquire: pairs with the release CAS that pushed the head we read, so
    // links[head] and the block's contents are visible.
    uint64_t expected = head_.load(std::memory_order_acquire);
    for (;;) {
      const TaggedIndex head = TaggedIndex::FromWord(expected);
      if (head.empty()) return kNoIndex;
      // relaxed: ordered by the acquire load of the head that named it; a
      // stale value is harmless because the CAS then fails on the tag.
      const uint32_t next = links_[head.index()].load(std::memory_order_relaxed);
      hooks_.BeforePopCas(head.index(), next);
      // acquire on both paths: on failure we read links[] of the new head.
      if (head_.compare_exchange_weak(expected, Advance(head, next).word(),
                                      std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        return head.index();
      }
    }
  }

  // Detaches the whole stack with one CAS and returns its top index (or
  // kNoIndex); the chain is linked through links[] and ends in kNoIndex.
  uint32_t PopAll() {
    // relaxed: the CAS below supplies the acquire ordering.
    uint64_t expected = head_.load(std::memory_order_relaxed);
    for (;;) {
      const TaggedIndex head = TaggedIndex::FromWord(expected);
      if (head.empty()) return kNoIndex;
      // acquire: pairs with the pushes' release so the chain's links are visible.
      if (head_.compare_exchange_weak(expected, Advance(head, kNoIndex).word(),
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return head.index();
      }
    }
  }

  // The head word's current tag; for tests and diagnostics.
  uint32_t tag() const {
    // relaxed: a snapshot that orders nothing.
    return TaggedIndex::FromWord(head_.load(std::memory_order_relaxed)).tag();
  }

  Hooks& hooks() { return hooks_; }

 private:
  // The head after a successful update from `head`: head.Next(new_index),
  // or, only in the kUnversionedForTesting variant, the same tag.
  static constexpr TaggedIndex Advance(TaggedIndex head, uint32_t new_index) {
    if constexpr (kTag == StackTag::kVersioned) {
      return head.Next(new_index);
    } else {
      return TaggedIndex(new_index, head.tag());
    }
  }

  std::atomic<uint64_t> head_{TaggedIndex().word()};
  std::atomic<uint32_t>* const links_;
  [[no_unique_address]] Hooks hooks_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_TAGGED_INDEX_STACK_H_
