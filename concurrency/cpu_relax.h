// SPDX-License-Identifier: Apache-2.0
// CpuRelax() tells the processor that the caller is spinning on a shared
// word, so it can save power and leave the core's resources to a sibling
// hyperthread. Used by the spinlock and by any loop that waits for another
// thread without blocking in the kernel.

#ifndef ZONEALLOC_CONCURRENCY_CPU_RELAX_H_
#define ZONEALLOC_CONCURRENCY_CPU_RELAX_H_

namespace zonealloc {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_CPU_RELAX_H_
