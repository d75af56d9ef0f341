// SPDX-License-Identifier: Apache-2.0
// How many threads a concurrency test runs: more than the CPUs this process
// may use, so that preemption lands inside critical sections, and bounded,
// so that a container that reports its host's CPUs to
// std::thread::hardware_concurrency() while it lets the process run on two
// does not get hundreds of threads under a sanitizer.
// core/testing/ is <zonealloc/testing/...> in the build tree only.

#ifndef ZONEALLOC_CORE_TESTING_TEST_THREADS_H_
#define ZONEALLOC_CORE_TESTING_TEST_THREADS_H_

#include <algorithm>

#include <zonealloc/system_profile.h>

namespace zonealloc::internal {

inline constexpr int kMaxTestThreads = 64;

// `per_cpu` threads for each CPU this process may use (SystemProfile's
// usable CPUs: the affinity mask, capped by a cgroup CPU quota), counting
// at least 2 CPUs, and at most kMaxTestThreads.
inline int TestThreads(int per_cpu) {
  const int cpus = std::max(2, SystemProfile::Current().usable_cpus);
  return std::min(per_cpu * cpus, kMaxTestThreads);
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_TEST_THREADS_H_
