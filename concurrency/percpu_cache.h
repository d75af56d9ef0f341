// SPDX-License-Identifier: Apache-2.0
// PerCpuCache is the front end of a zone: each CPU keeps a small stack of
// free block pointers, so the common Allocate() and Free() touch only the
// current CPU's cache line and do no atomic read-modify-write.
//
// Two modes with one data layout:
//   kRseq    Pop, TryPush and the batch moves are restartable sequences
//            (see rseq.h): x86-64 assembly that the kernel restarts if the
//            thread is preempted, migrated or signalled before the commit
//            store.
//   kLocked  the fallback: each CPU's cache has a spinlock word, taken for
//            every operation. Uncontended unless a thread is preempted while
//            holding it, so nearly as cheap, and visible to ThreadSanitizer.
//
// Layout: for each possible CPU, one 64-byte header line, then `capacity`
// slots. CPU c's cache starts at memory + (c << kStrideShift): a fixed
// power-of-two stride, so the sections find it with a shift by an
// immediate, not a multiply by a loaded stride. Slots past `capacity` are
// never touched, so they cost address space, not resident memory (the
// mapping is read-write: where overcommit is strict, vm.overcommit_memory =
// 2, the kernel charges all of it against its commit limit).
//
// Synchronization protocol (kRseq)
//   count  blocks in slots[0, count). Written only by critical sections on
//          this CPU (their single commit store) and by Drain() while the
//          cache is stopped.
//   limit  this CPU's capacity (its depth), or 0 while stopped. Written by
//          Drain(), which the owner serializes, and raised by Grow() with a
//          CAS from the value it read, which fails against a stopped (0) or
//          changed limit. Raising it under a running section only lets
//          that section move fewer blocks than it could. Each critical
//          section reads it before
//          committing and gives up (returns false, or moves 0 blocks)
//          when the operation would not fit: pop needs count - 1 < limit,
//          push and PushBatch need count < limit, PopBatch needs
//          count <= limit, all unsigned, so limit 0 stops them all (a
//          PopBatch that sees count 0 commits the 0 it read, a no-op).
//   Drain(cpu): old = exchange(limit, 0); FenceCpu(cpu); read count and
//          the slots; count = 0; limit = the initial capacity (release).
//          A drain also shrinks the cache back to its initial depth.
//   Sections read limit before count. The other order lets a section that
//   starts after the fence read count before the drainer zeroes it and
//   limit after the drainer reopens, and pop a block the drainer took. In
//   this order, a section that sees the reopened limit also sees count = 0,
//   since the drainer stores count before limit and x86 keeps both the
//   stores and the loads in order.
//   Why the fence: without it,
//     Thread A (on cpu): pop reads count 5 and limit 8 ...
//     Drainer:           limit = 0; reads count 5; takes all 5 blocks.
//     Thread A:          ... commits count 4 and returns slots[4],
//   and the drained block slots[4] is handed out twice. FenceCpu returns
//   only after every critical section running on `cpu` has committed or
//   been aborted; a restarted one reads limit 0 and gives up. A thread
//   preempted inside a section is restarted when it next runs.
//   No counter is written inside a section: a read-modify-write there costs
//   every Allocate() and Free() about 10%, and an aborted section would
//   count twice. The slow paths count misses, refills and flushes.
//
// Synchronization protocol (kLocked): every field of a CPU's cache is read
// and written with its lock held.
//
// Adaptive depth (as tcmalloc's dynamic per-CPU capacity, or the NT
// lookaside lists' ExAdjustLookasideDepth): each CPU's capacity starts at
// the initial capacity and grows by Grow() while its owner keeps missing or
// flushing, up to max_capacity, as long as the capacities of all CPUs
// together stay within the total bound (total_capacity_, an atomic sum: Grow
// adds before it CASes limit and takes back on failure). The owner may
// raise the bound (a zone does as it extends), never lower it. Drain()
// shrinks a CPU back to the initial capacity; the owner drains idle CPUs.
//
// Not for use alone: Zone owns one, supplies its memory and refills and
// drains it under its own slow-path lock.

#ifndef ZONEALLOC_CONCURRENCY_PERCPU_CACHE_H_
#define ZONEALLOC_CONCURRENCY_PERCPU_CACHE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include <zonealloc/concurrency/cache_aligned.h>
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/concurrency/spinlock.h>

namespace zonealloc {

// Counters of one CPU's cache.
struct CpuCacheStats {
  uint64_t misses = 0;   // allocations that found it empty
  // Takes from the shared zone for it (a batch or what was left), counted
  // even when a migration sent the blocks back.
  uint64_t refills = 0;
  uint64_t flushes = 0;  // batches moved out to the shared zone
  uint64_t drains = 0;   // times Drain() took blocks out of it (any thread's)
  // PopBatch/PushBatch calls: each is one critical section (or lock hold),
  // whatever the number of blocks it moves. Counted on the CPU the caller
  // was on just before the call (after a migration, maybe not the one the
  // section ran on).
  uint64_t batch_moves = 0;
  uint32_t blocks = 0;   // cached now
  uint32_t capacity = 0; // the most it may cache now: its current depth
};

class PerCpuCache {
 public:
  enum class Mode { kRseq, kLocked };

  // Room for the header and kMaxCapacity slots.
  // 256 KiB of address space per CPU: up to 32760 slots; pages are touched
  // only as deep as a cache grows.
  static constexpr int kStrideShift = 18;
  static constexpr uint32_t kMaxCapacity = ((1u << kStrideShift) - 64) / sizeof(void*);
  static size_t BytesFor(int num_cpus) { return static_cast<size_t>(num_cpus) << kStrideShift; }
  // CPUs the cache must cover: every CPU id the kernel may report.
  static int PossibleCpus();

  // How deep each CPU's cache may be (see "Adaptive depth").
  struct Depth {
    uint32_t initial;      // every CPU starts here, and returns here on Drain()
    uint32_t max;          // one CPU's most
    uint64_t total_bound;  // all CPUs' capacities together at most
  };

  // REQUIRES: memory is BytesFor(num_cpus) zeroed bytes, 64-byte aligned,
  // outliving the cache; 1 <= depth.initial <= depth.max <= kMaxCapacity;
  // depth.total_bound >= num_cpus * depth.initial; for kRseq,
  // RseqSupport().ok().
  PerCpuCache(Mode mode, void* memory, int num_cpus, Depth depth);

  PerCpuCache(const PerCpuCache&) = delete;
  PerCpuCache& operator=(const PerCpuCache&) = delete;

  // A block of the current CPU's cache, or nullptr when it is empty or
  // being drained.
  void* Pop() { return ABSL_PREDICT_TRUE(mode_ == Mode::kRseq) ? PopRseq() : PopLocked(); }

  // Pushes `block` onto the current CPU's cache. False when it is full or
  // being drained.
  bool TryPush(void* block) {
    return ABSL_PREDICT_TRUE(mode_ == Mode::kRseq) ? TryPushRseq(block) : TryPushLocked(block);
  }

  // Pop() and TryPush() of a kRseq cache, for a caller that keeps the mode
  // test itself (Zone, beside the fields its fast path reads anyway).
  // REQUIRES: mode() == kRseq.
  void* PopRseq();
  bool TryPushRseq(void* block);

  // Moves up to `max` blocks of the current CPU's cache into out[0, n), the
  // most recently pushed last, and returns n: one critical section (or one
  // lock hold) and one commit for the whole batch. 0 when the cache is
  // empty or being drained.
  uint32_t PopBatch(void** out, uint32_t max) {
    Bump(Header(CurrentCpu()).batch_moves);
    return mode_ == Mode::kRseq ? PopBatchRseq(out, max) : PopBatchLocked(out, max);
  }

  // Pushes blocks[0, k) onto the current CPU's cache and returns k: as many
  // of the n as fit, in one critical section. 0 when it is full or being
  // drained.
  uint32_t PushBatch(void* const* blocks, uint32_t n) {
    Bump(Header(CurrentCpu()).batch_moves);
    return mode_ == Mode::kRseq ? PushBatchRseq(blocks, n) : PushBatchLocked(blocks, n);
  }

  // The CPU the caller runs on, in [0, num_cpus()). May be stale at once.
  int CurrentCpu() const;

  // False on a thread whose every operation misses: in kRseq mode, one
  // whose rseq registration failed or was undone. Such a thread should not
  // Grow() the cache of the CPU it runs on, which it cannot fill.
  bool CallerCanCache() const;

  // Blocks cached on `cpu` right now; racy, a hint.
  uint32_t CountOn(int cpu) const {
    // relaxed: a hint.
    return Header(cpu).count.load(std::memory_order_relaxed);
  }

  // True when Drain(cpu) would change nothing: `cpu`'s cache is empty and
  // at its initial depth. Racy, a hint, as CountOn().
  bool EmptyAtInitialDepth(int cpu) const {
    // relaxed: a hint.
    return Header(cpu).count.load(std::memory_order_relaxed) == 0 &&
           Header(cpu).limit.load(std::memory_order_relaxed) == depth_.initial;
  }

  // Moves every block cached on `cpu` into out[0, n) and returns n (at most
  // its capacity, so at most min(max_capacity(), total_bound())), and puts
  // its capacity back to the initial one.
  // REQUIRES: calls to Drain() are serialized by the owner (Zone holds its
  // slow-path lock).
  uint32_t Drain(int cpu, void** out);

  // Deepens `cpu`'s cache by `by` blocks, or by fewer where the maximum
  // depth stops it; never past the total bound: where all of `by` would
  // pass that, it does not grow. False when it did not grow (at a bound,
  // or drained meanwhile). Any thread may call it for any CPU.
  bool Grow(int cpu, uint32_t by);

  // Lets all CPUs' capacities together reach `bound`, when that is above
  // the current bound (it never goes down: a cache already deeper than a
  // lower bound would have to be drained). REQUIRES: serialized by the
  // owner, as Drain().
  void RaiseTotalBound(uint64_t bound);

  // fork() support (kLocked): takes every CPU's lock word, in CPU order, so
  // no cache is mid-update when the process forks; the parent and the child
  // release them after. No-ops for kRseq, whose sections hold no lock.
  // REQUIRES: the owner's slow-path lock is held (lock order: see zone.h).
  // Unchecked: the analysis cannot name a lock per CPU taken in a loop.
  void LockAllForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void UnlockAllAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // Slow-path counters, kept per CPU.
  void CountMiss(int cpu) { Bump(Header(cpu).misses); }
  void CountRefill(int cpu) { Bump(Header(cpu).refills); }
  void CountFlush(int cpu) { Bump(Header(cpu).flushes); }

  CpuCacheStats StatsOf(int cpu) const;

  Mode mode() const { return mode_; }
  int num_cpus() const { return static_cast<int>(geometry_.num_cpus); }
  uint32_t max_capacity() const { return depth_.max; }
  // All CPUs' capacities together now; at most total_bound().
  uint64_t total_capacity() const {
    // relaxed: a statistic.
    return total_capacity_.load(std::memory_order_relaxed);
  }
  // depth.total_bound, or what RaiseTotalBound() raised it to.
  uint64_t total_bound() const {
    // relaxed: a bound Grow() checks against a relaxed sum anyway.
    return total_bound_.load(std::memory_order_relaxed);
  }

 private:
  // One CPU's header line; slots follow it.
  struct alignas(kCacheLineSize) CpuHeader {
    std::atomic<uint32_t> count;
    std::atomic<uint32_t> limit;
    // kLocked only. It guards count, limit and the slots, but they carry no
    // ABSL_GUARDED_BY: in kRseq mode the same words are written without it.
    // A waiter mostly finds its holder preempted on the waiter's own CPU,
    // where spinning cannot help: it yields soon.
    SpinLock lock{std::chrono::microseconds(2)};
    std::atomic<uint64_t> misses;
    std::atomic<uint64_t> refills;
    std::atomic<uint64_t> flushes;
    std::atomic<uint64_t> drains;
    std::atomic<uint64_t> batch_moves;
  };
  static_assert(sizeof(CpuHeader) == kCacheLineSize);
  // The critical sections hard-code these: count at 0, limit at 4, slots
  // from 64.
  static constexpr int kSlotsOffset = sizeof(CpuHeader);
  static_assert(kSlotsOffset == 64);

  CpuHeader& Header(int cpu) const {
    return *reinterpret_cast<CpuHeader*>(geometry_.memory +
                                         (static_cast<size_t>(cpu) << kStrideShift));
  }
  void** Slots(int cpu) const {
    return reinterpret_cast<void**>(&Header(cpu) + 1);
  }
  static void Bump(std::atomic<uint64_t>& counter) {
    // relaxed: a statistic.
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  uint32_t PopBatchRseq(void** out, uint32_t max);
  uint32_t PushBatchRseq(void* const* blocks, uint32_t n);
  // The fallback, out of line: the rseq fast path inlines without it.
  ABSL_ATTRIBUTE_NOINLINE void* PopLocked();
  ABSL_ATTRIBUTE_NOINLINE bool TryPushLocked(void* block);
  ABSL_ATTRIBUTE_NOINLINE uint32_t PopBatchLocked(void** out, uint32_t max);
  ABSL_ATTRIBUTE_NOINLINE uint32_t PushBatchLocked(void* const* blocks, uint32_t n);

  // What the critical sections read, as memory operands: the compiler
  // addresses them from whatever register holds the owner (a Zone), with no
  // pointer of their own to compute.
  struct Geometry {
    char* memory;
    uint32_t num_cpus;
  };

  const Mode mode_;
  const Depth depth_;
  std::atomic<uint64_t> total_capacity_;
  std::atomic<uint64_t> total_bound_;
  const Geometry geometry_;
};

#if defined(ZONEALLOC_RSEQ_ASM) && defined(ZONEALLOC_HAVE_GLIBC_RSEQ)
static_assert(RSEQ_SIG == 0x53053053, "the abort handlers below spell out glibc's RSEQ_SIG");
#endif

// The text around each critical section. Inline assembly is a string
// literal, so the shared parts can only be pasted in by the preprocessor.
// BEGIN arms the thread's rseq_cs with the section's descriptor (label 3)
// and opens the section at label 1; END closes it at label 2, right after
// the commit store, and emits the abort handler (label 4, after the
// signature) and the descriptor {version 0, flags 0, start 1b, length
// 2b - 1b, abort 4b}.
// The "?" flag puts the handler and the descriptor in the section group of
// the function they sit in. Without it, an out-of-line copy of an inline
// function (every -O0 build keeps one per translation unit) is discarded
// by the linker as a duplicate while its descriptor is kept, and the link
// fails with "defined in discarded section".
#define ZONEALLOC_RSEQ_BEGIN        \
  "0:\n\t"                         \
  "leaq 3f(%%rip), %%rax\n\t"       \
  "movq %%rax, %%fs:8(%[rseq])\n\t" \
  "1:\n\t"
// rax = this CPU's header: memory + (cpu_id << kStrideShift), or a jump to
// `miss` when the rseq area's cpu_id is past the cache's CPUs (or reads as
// unregistered, which is huge).
#define ZONEALLOC_RSEQ_THIS_CPU(miss)    \
  "movl %%fs:4(%[rseq]), %%eax\n\t"      \
  "cmpl %[num_cpus], %%eax\n\t"          \
  "jae " miss "\n\t"                     \
  "shlq %[shift], %%rax\n\t"             \
  "addq %[memory], %%rax\n\t"
#define ZONEALLOC_RSEQ_END                       \
  "2:\n\t"                                      \
  ".pushsection __rseq_failure, \"ax?\"\n\t"     \
  ".byte 0x0f, 0xb9, 0x3d\n\t"                   \
  ".long 0x53053053\n\t"                         \
  "4:\n\t"                                      \
  "lock incq %[restarts]\n\t"                   \
  "jmp 0b\n\t"                                  \
  ".popsection\n\t"                             \
  ".pushsection __rseq_cs, \"aw?\"\n\t"          \
  ".balign 32\n\t"                              \
  "3:\n\t"                                      \
  ".long 0, 0\n\t"                              \
  ".quad 1b, 2b - 1b, 4b\n\t"                    \
  ".popsection\n\t"

// The critical sections. An abort restarts them from label 0. Register use:
// rax = this CPU's header, rcx = count, rdx = limit (then, in a push, the
// block). Pop returns its block in a register, nullptr on every way out but
// the commit. `restarts` is written by the abort handler's locked
// add although it is an input operand: the "memory" clobber covers that
// write (an in-out operand would need asm goto outputs, which GCC 12
// miscompiled here).
inline void* PerCpuCache::PopRseq() {
#if defined(ZONEALLOC_RSEQ_ASM)
  void* block;
  asm volatile(
      ZONEALLOC_RSEQ_BEGIN
      "xorl %k[block], %k[block]\n\t"    // nullptr until the slot is read
      ZONEALLOC_RSEQ_THIS_CPU("5f")
      "movl 4(%%rax), %%edx\n\t"         // limit, before count
      "movl (%%rax), %%ecx\n\t"          // count
      "subl $1, %%ecx\n\t"
      "cmpl %%edx, %%ecx\n\t"            // count - 1 < limit
      "jae 5f\n\t"
      "movq 64(%%rax,%%rcx,8), %[block]\n\t" // slots[count - 1]
      "movl %%ecx, (%%rax)\n\t"          // commit: count - 1
      ZONEALLOC_RSEQ_END
      "5:\n\t"
      : [block] "=&r"(block)
      : [rseq] "r"(RseqAreaOffset()), [num_cpus] "m"(geometry_.num_cpus),
        [shift] "i"(kStrideShift), [memory] "m"(geometry_.memory),
        [restarts] "m"(internal::rseq_restarts)
      : "rax", "rcx", "rdx", "memory", "cc");
  return block;
#else
  return nullptr;
#endif
}

inline bool PerCpuCache::TryPushRseq(void* block) {
#if defined(ZONEALLOC_RSEQ_ASM)
  asm goto(
      ZONEALLOC_RSEQ_BEGIN
      ZONEALLOC_RSEQ_THIS_CPU("%l[full]")
      "movl 4(%%rax), %%edx\n\t"         // limit, before count
      "movl (%%rax), %%ecx\n\t"          // count
      "cmpl %%edx, %%ecx\n\t"            // count < limit
      "jae %l[full]\n\t"
      "movq %[block], 64(%%rax,%%rcx,8)\n\t"  // slots[count]
      "addl $1, %%ecx\n\t"
      "movl %%ecx, (%%rax)\n\t"          // commit: count + 1
      ZONEALLOC_RSEQ_END
      :
      : [rseq] "r"(RseqAreaOffset()), [num_cpus] "m"(geometry_.num_cpus),
        [shift] "i"(kStrideShift), [memory] "m"(geometry_.memory), [block] "r"(block),
        [restarts] "m"(internal::rseq_restarts)
      : "rax", "rcx", "rdx", "memory", "cc"
      : full);
  return true;
full:
  return false;
#else
  (void)block;
  return false;
#endif
}

// The batch sections return their count in edx, 0 until committed; they
// copy between the slots and the caller's array before the commit, which an
// abort simply repeats. r10 holds limit, then the first slot moved; r11 the
// loop index; r8 the block in flight.
inline uint32_t PerCpuCache::PopBatchRseq(void** out, uint32_t max) {
#if defined(ZONEALLOC_RSEQ_ASM)
  uint32_t n;
  asm volatile(
      ZONEALLOC_RSEQ_BEGIN
      "xorl %%edx, %%edx\n\t"
      ZONEALLOC_RSEQ_THIS_CPU("5f")
      "movl 4(%%rax), %%r10d\n\t"        // limit, before count
      "movl (%%rax), %%ecx\n\t"          // count
      "cmpl %%r10d, %%ecx\n\t"           // count <= limit, else stopped
      "ja 5f\n\t"
      "movl %[max], %%edx\n\t"
      "cmpl %%edx, %%ecx\n\t"
      "cmovbl %%ecx, %%edx\n\t"          // n = min(count, max)
      "subl %%edx, %%ecx\n\t"            // count - n
      "leaq 64(%%rax,%%rcx,8), %%r10\n\t" // &slots[count - n]
      "xorl %%r11d, %%r11d\n\t"
      "6:\n\t"
      "cmpl %%edx, %%r11d\n\t"
      "jae 7f\n\t"
      "movq (%%r10,%%r11,8), %%r8\n\t"
      "movq %%r8, (%[out],%%r11,8)\n\t"
      "incl %%r11d\n\t"
      "jmp 6b\n\t"
      "7:\n\t"
      "movl %%ecx, (%%rax)\n\t"          // commit: count - n
      ZONEALLOC_RSEQ_END
      "5:\n\t"
      : "=&d"(n)
      : [rseq] "r"(RseqAreaOffset()), [num_cpus] "m"(geometry_.num_cpus),
        [shift] "i"(kStrideShift), [memory] "m"(geometry_.memory), [out] "r"(out),
        [max] "r"(max), [restarts] "m"(internal::rseq_restarts)
      : "rax", "rcx", "r8", "r10", "r11", "memory", "cc");
  return n;
#else
  (void)out, (void)max;
  return 0;
#endif
}

inline uint32_t PerCpuCache::PushBatchRseq(void* const* blocks, uint32_t n) {
#if defined(ZONEALLOC_RSEQ_ASM)
  uint32_t pushed;
  asm volatile(
      ZONEALLOC_RSEQ_BEGIN
      "xorl %%edx, %%edx\n\t"
      ZONEALLOC_RSEQ_THIS_CPU("5f")
      "movl 4(%%rax), %%r10d\n\t"        // limit, before count
      "movl (%%rax), %%ecx\n\t"          // count
      "cmpl %%r10d, %%ecx\n\t"           // count < limit, else full or stopped
      "jae 5f\n\t"
      "subl %%ecx, %%r10d\n\t"           // room = limit - count
      "movl %[n], %%edx\n\t"
      "cmpl %%r10d, %%edx\n\t"
      "cmoval %%r10d, %%edx\n\t"         // pushed = min(n, room)
      "leaq 64(%%rax,%%rcx,8), %%r10\n\t" // &slots[count]
      "xorl %%r11d, %%r11d\n\t"
      "6:\n\t"
      "cmpl %%edx, %%r11d\n\t"
      "jae 7f\n\t"
      "movq (%[blocks],%%r11,8), %%r8\n\t"
      "movq %%r8, (%%r10,%%r11,8)\n\t"
      "incl %%r11d\n\t"
      "jmp 6b\n\t"
      "7:\n\t"
      "addl %%edx, %%ecx\n\t"
      "movl %%ecx, (%%rax)\n\t"          // commit: count + pushed
      ZONEALLOC_RSEQ_END
      "5:\n\t"
      : "=&d"(pushed)
      : [rseq] "r"(RseqAreaOffset()), [num_cpus] "m"(geometry_.num_cpus),
        [shift] "i"(kStrideShift), [memory] "m"(geometry_.memory), [blocks] "r"(blocks),
        [n] "r"(n), [restarts] "m"(internal::rseq_restarts)
      : "rax", "rcx", "r8", "r10", "r11", "memory", "cc");
  return pushed;
#else
  (void)blocks, (void)n;
  return 0;
#endif
}

#undef ZONEALLOC_RSEQ_BEGIN
#undef ZONEALLOC_RSEQ_THIS_CPU
#undef ZONEALLOC_RSEQ_END

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_PERCPU_CACHE_H_
