// SPDX-License-Identifier: Apache-2.0
// The second translation unit of percpu_cache_unoptimized_test: at -O0 it
// keeps its own out-of-line copies of PerCpuCache's inline critical
// sections, which the linker folds with the test file's copies.

#include <zonealloc/concurrency/percpu_cache.h>

namespace zonealloc {

bool PushThenPopInAnotherTranslationUnit(PerCpuCache& cache, void* block) {
  void* popped = nullptr;
  return cache.TryPush(block) && (popped = cache.Pop()) == block;
}

}  // namespace zonealloc
