// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/slab_index.h>

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/page_source.h>

namespace zonealloc::internal {
namespace {

using Range = SlabIndex::Range;

bool Add(SlabIndex& index, uintptr_t begin, size_t bytes) {
  if (!index.Reserve()) return false;
  index.Insert({.begin = begin, .bytes = bytes});
  return true;
}

TEST(SlabIndexTest, FindsTheRangeHoldingAnAddressAndNothingBetweenRanges) {
  SlabIndex index;
  EXPECT_EQ(index.Find(0x1000), nullptr);  // before the first Reserve()
  ASSERT_TRUE(Add(index, 0x30000, 0x2000));
  ASSERT_TRUE(Add(index, 0x10000, 0x1000));
  ASSERT_TRUE(Add(index, 0x20000, 0x4000));

  EXPECT_EQ(index.Find(0x10000)->begin, 0x10000u);
  EXPECT_EQ(index.Find(0x10fff)->begin, 0x10000u);
  EXPECT_EQ(index.Find(0x23456)->begin, 0x20000u);
  EXPECT_EQ(index.Find(0x31fff)->begin, 0x30000u);
  EXPECT_EQ(index.Find(0x31fff)->bytes, 0x2000u);
  for (uintptr_t outside : {uintptr_t{0}, uintptr_t{0xffff}, uintptr_t{0x11000},
                            uintptr_t{0x24000}, uintptr_t{0x32000}, UINTPTR_MAX}) {
    EXPECT_EQ(index.Find(outside), nullptr) << std::hex << outside;
  }
}

TEST(SlabIndexTest, KeepsRangesInAddressOrderThroughInsertsAndErases) {
  SlabIndex index;
  std::vector<uintptr_t> begins;
  for (uintptr_t i = 0; i < 5000; ++i) begins.push_back((i + 1) << 20);
  std::shuffle(begins.begin(), begins.end(), std::mt19937(7));
  for (uintptr_t begin : begins) ASSERT_TRUE(Add(index, begin, 4096));
  // Erase every other one, in another order.
  std::shuffle(begins.begin(), begins.end(), std::mt19937(8));
  begins.resize(begins.size() / 2);
  for (uintptr_t begin : begins) index.Erase(begin);

  ASSERT_EQ(index.ranges().size(), 2500u);
  for (size_t i = 1; i < index.ranges().size(); ++i) {
    EXPECT_LT(index.ranges()[i - 1].begin, index.ranges()[i].begin);
  }
  for (uintptr_t begin : begins) EXPECT_EQ(index.Find(begin + 100), nullptr);
  for (const Range& range : index.ranges()) {
    EXPECT_EQ(index.Find(range.begin + 4095), &range);
  }
}

TEST(SlabIndexTest, ReserveFailsWithEnomemWhenFullAndSucceedsAgainAfterAnErase) {
  SlabIndex index(/*max_ranges=*/3);
  ASSERT_TRUE(Add(index, 0x1000, 0x1000));
  ASSERT_TRUE(Add(index, 0x3000, 0x1000));
  ASSERT_TRUE(Add(index, 0x5000, 0x1000));
  errno = 0;
  EXPECT_FALSE(index.Reserve());
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(index.ranges().size(), 3u);

  index.Erase(0x3000);
  EXPECT_TRUE(Add(index, 0x7000, 0x1000));
  EXPECT_THAT(index.ranges(), ::testing::ElementsAre(::testing::Field(&Range::begin, 0x1000u),
                                                     ::testing::Field(&Range::begin, 0x5000u),
                                                     ::testing::Field(&Range::begin, 0x7000u)));
}

// Whether [p, p + 1) lies in a mapping of this process.
bool IsMapped(const void* p) {
  const auto page = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{PageSize()} - 1);
  return msync(reinterpret_cast<void*>(page), 1, MS_ASYNC) == 0;  // ENOMEM when not
}

TEST(SlabIndexTest, GivesItsArrayBackWhenTheLastRangeGoesAndMapsItAgainWhenNeeded) {
  SlabIndex index;
  ASSERT_TRUE(Add(index, 0x1000, 0x1000));
  ASSERT_TRUE(Add(index, 0x3000, 0x1000));
  const Range* array = index.ranges().data();
  ASSERT_TRUE(IsMapped(array));
  index.Erase(0x1000);
  EXPECT_TRUE(IsMapped(array)) << "one range is left";
  index.Erase(0x3000);
  EXPECT_FALSE(IsMapped(array));
  EXPECT_EQ(index.Find(0x3000), nullptr);

  ASSERT_TRUE(Add(index, 0x5000, 0x1000));
  EXPECT_EQ(index.Find(0x5fff)->begin, 0x5000u);
}

TEST(SlabIndexTest, AReserveWhoseRangeNeverCameIsGivenBackOnRequest) {
  SlabIndex index;
  ASSERT_TRUE(index.Reserve());  // as before mapping a slab that then fails
  const Range* array = index.ranges().data();
  ASSERT_TRUE(IsMapped(array));
  index.ReleaseIfEmpty();
  EXPECT_FALSE(IsMapped(array));
  EXPECT_TRUE(Add(index, 0x1000, 0x1000));
  index.ReleaseIfEmpty();  // holds a range: stays
  EXPECT_EQ(index.Find(0x1000)->begin, 0x1000u);
}

TEST(SlabIndexDeathTest, ErasingARangeItDoesNotHoldCrashes) {
  SlabIndex index;
  EXPECT_DEATH(index.Erase(0x1000), "Erase\\(\\) of a range it does not hold");
  ASSERT_TRUE(Add(index, 0x1000, 0x1000));
  EXPECT_DEATH(index.Erase(0x1800), "Erase\\(\\) of a range it does not hold");
}

TEST(SlabIndexDeathTest, InsertingWithoutRoomCrashes) {
  SlabIndex index(/*max_ranges=*/1);
  EXPECT_DEATH(index.Insert({.begin = 0x1000, .bytes = 0x1000}), "without Reserve");
  ASSERT_TRUE(Add(index, 0x1000, 0x1000));
  EXPECT_DEATH(index.Insert({.begin = 0x3000, .bytes = 0x1000}), "without Reserve");
}

}  // namespace
}  // namespace zonealloc::internal
