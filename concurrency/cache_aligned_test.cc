// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/cache_aligned.h>

#include <atomic>
#include <cstdint>

#include "gtest/gtest.h"

namespace zonealloc {
namespace {

TEST(CacheAlignedTest, EachValueOwnsItsCacheLine) {
  static_assert(alignof(CacheAligned<std::atomic<int>>) == kCacheLineSize);
  static_assert(sizeof(CacheAligned<std::atomic<int>>) == kCacheLineSize);
  CacheAligned<std::atomic<int>> counters[2] = {CacheAligned<std::atomic<int>>(1),
                                               CacheAligned<std::atomic<int>>(2)};
  const auto first = reinterpret_cast<uintptr_t>(&counters[0].value);
  const auto second = reinterpret_cast<uintptr_t>(&counters[1].value);
  EXPECT_EQ(first % kCacheLineSize, 0u);
  EXPECT_NE(first / kCacheLineSize, second / kCacheLineSize) << "neighbours share a line";
  EXPECT_EQ(counters[1]->load(), 2);
}

}  // namespace
}  // namespace zonealloc
