// SPDX-License-Identifier: Apache-2.0
// Programs built at -O0 must link and run the rseq critical sections: this
// test and its peer file are compiled without optimisation, so each keeps an
// out-of-line copy of TryPush/Pop and the linker discards one of them.

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include <zonealloc/concurrency/percpu_cache.h>
#include <zonealloc/testing/zone_testing.h>

namespace zonealloc {

bool PushThenPopInAnotherTranslationUnit(PerCpuCache& cache, void* block);

namespace {

TEST(PerCpuCacheUnoptimizedTest, SectionsFromTwoTranslationUnitsLinkAndRun) {
  // On one CPU, so each push and the pop after it meet in the same cache.
  internal::ScopedPinToCurrentCpu pin;
  for (PerCpuCache::Mode mode : {PerCpuCache::Mode::kRseq, PerCpuCache::Mode::kLocked}) {
    if (mode == PerCpuCache::Mode::kRseq && !RseqSupport().ok()) continue;
    const int cpus = PerCpuCache::PossibleCpus();
    const size_t bytes = PerCpuCache::BytesFor(cpus);
    void* memory = std::aligned_alloc(64, bytes);
    std::memset(memory, 0, bytes);
    {
      PerCpuCache cache(mode, memory, cpus, {.initial = 8, .max = 8, .total_bound = 8u * cpus});
      int block;
      for (int i = 0; i < 1000; ++i) {
        void* popped = nullptr;
        ASSERT_TRUE(cache.TryPush(&block) && (popped = cache.Pop()) != nullptr);
        EXPECT_EQ(popped, &block);
        EXPECT_TRUE(PushThenPopInAnotherTranslationUnit(cache, &block));
      }
    }
    std::free(memory);
  }
}

}  // namespace
}  // namespace zonealloc
