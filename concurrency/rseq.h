// SPDX-License-Identifier: Apache-2.0
// Access to the restartable-sequences (rseq) area that glibc 2.35 and later
// registers for every thread, and to the membarrier fence that interrupts
// rseq critical sections running on another CPU.
//
// Who should use this: PerCpuCache, and tests that check which per-CPU mode
// a machine supports. Nothing else in zonealloc touches rseq.
//
// An rseq critical section is a short instruction sequence that the kernel
// restarts, from its abort handler, if the thread is preempted, migrated or
// signalled before the sequence's final (commit) store. A sequence that
// indexes per-CPU data by the rseq area's cpu_id therefore runs as if it
// held that CPU alone, without an atomic read-modify-write.

#ifndef ZONEALLOC_CONCURRENCY_RSEQ_H_
#define ZONEALLOC_CONCURRENCY_RSEQ_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include <zonealloc/concurrency/sanitizers.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <sys/rseq.h>
#define ZONEALLOC_HAVE_GLIBC_RSEQ 1
#endif

namespace zonealloc {

// The critical sections are x86-64 Linux assembly; ThreadSanitizer cannot
// see into them, so its builds use the fallback instead.
// ZONEALLOC_RSEQ_ASM guards the assembly itself (see percpu_cache.h).
#if defined(__x86_64__) && defined(__linux__) && !defined(ZONEALLOC_COMPILING_WITH_TSAN)
#define ZONEALLOC_RSEQ_ASM 1
inline constexpr bool kRseqCompiledIn = true;
#else
inline constexpr bool kRseqCompiledIn = false;
#endif

// OK when this process can run per-CPU rseq caches: the code is compiled in,
// glibc registered an rseq area (`__rseq_size` > 0; the tunable
// glibc.pthread.rseq=0 turns it off) and the kernel accepted the membarrier
// registration used to drain other CPUs' caches. Otherwise
// FailedPrecondition saying which of those is missing. Checked once.
absl::Status RseqSupport();

// The calling thread's rseq area: {cpu_id_start, cpu_id, rseq_cs, ...}.
// REQUIRES: RseqSupport().ok().
struct RseqArea {
  uint32_t cpu_id_start;
  uint32_t cpu_id;  // RSEQ_CPU_ID_UNINITIALIZED (-1) / REGISTRATION_FAILED (-2)
  uint64_t rseq_cs;
};
inline RseqArea* CurrentRseqArea() {
#if defined(ZONEALLOC_HAVE_GLIBC_RSEQ)
  return reinterpret_cast<RseqArea*>(static_cast<char*>(__builtin_thread_pointer()) +
                                     __rseq_offset);
#else
  return nullptr;
#endif
}

// The rseq area's offset from the thread pointer (%fs on x86-64): the same
// for every thread. REQUIRES: RseqSupport().ok().
inline ptrdiff_t RseqAreaOffset() {
#if defined(ZONEALLOC_HAVE_GLIBC_RSEQ)
  return __rseq_offset;
#else
  return 0;
#endif
}

// Returns once every rseq critical section that was running on `cpu` (in
// this process) has committed or been aborted, with a full memory barrier:
// what those sections committed is visible to the caller. A few microseconds
// (an inter-processor interrupt). REQUIRES: RseqSupport().ok().
void FenceCpu(int cpu);

// How many times an rseq critical section of this process was aborted and
// restarted; for tests and statistics.
uint64_t RseqRestarts();

namespace internal {
// Incremented by the abort handlers (a locked add: aborts are rare).
extern std::atomic<uint64_t> rseq_restarts;
}  // namespace internal

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_RSEQ_H_
