// SPDX-License-Identifier: Apache-2.0
// The contender list: zone_debug only on request, and every contender's
// worker allocator one the worker knows.

#include "bench/contenders.h"

#include <algorithm>
#include <string>
#include <vector>

#include "bench/allocator_under_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

std::vector<std::string> Labels(const std::vector<Contender>& contenders) {
  std::vector<std::string> labels;
  for (const Contender& contender : contenders) labels.push_back(contender.label);
  return labels;
}

TEST(ContendersTest, TheDefaultMatrixLeavesZoneDebugOut) {
  const std::vector<std::string> chosen =
      Labels(ChooseContenders({}, /*on_request_too=*/false, "/nonexistent"));
  EXPECT_THAT(chosen, Not(Contains("zone_debug")));
  EXPECT_THAT(chosen, Contains("zone"));
  EXPECT_EQ(chosen.size() + 1, AllContenders("/nonexistent").size());
}

TEST(ContendersTest, FullAndSmokeRunEveryContender) {
  EXPECT_EQ(Labels(ChooseContenders({}, /*on_request_too=*/true, "/nonexistent")),
            Labels(AllContenders("/nonexistent")));
}

TEST(ContendersTest, NamingZoneDebugPicksItInTableOrder) {
  EXPECT_THAT(
      Labels(ChooseContenders({"zone_debug", "zone"}, /*on_request_too=*/false, "/nonexistent")),
      ElementsAre("zone", "zone_debug"));
}

TEST(ContendersTest, EveryWorkerAllocatorIsOneTheWorkerKnows) {
  for (const Contender& contender : AllContenders("/nonexistent")) {
    const auto kinds = AllAllocatorKinds();
    EXPECT_TRUE(std::any_of(kinds.begin(), kinds.end(),
                            [&](const AllocatorKind& kind) {
                              return kind.name == contender.worker_allocator;
                            }))
        << contender.label << ": the worker has no allocator '" << contender.worker_allocator
        << "'";
  }
}

TEST(ContendersTest, ZoneDebugServesBlocksAndCountsThem) {
  const BlockDemand demand[] = {{.block_size = 64, .max_live_blocks = 16}};
  auto allocator = CreateAllocatorUnderTest("zone_debug", demand);
  ASSERT_TRUE(allocator.ok()) << allocator.status();
  BlockSource& blocks = (*allocator)->ForSize(64);
  void* block = blocks.Allocate();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ((*allocator)->InUseBlocks(), 1);
  blocks.Free(block);
  EXPECT_EQ((*allocator)->InUseBlocks(), 0);
}

TEST(ContendersTest, ZoneDebugCatchesADoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const BlockDemand demand[] = {{.block_size = 64, .max_live_blocks = 16}};
  auto allocator = CreateAllocatorUnderTest("zone_debug", demand);
  ASSERT_TRUE(allocator.ok()) << allocator.status();
  BlockSource& blocks = (*allocator)->ForSize(64);
  void* kept = blocks.Allocate();
  void* block = blocks.Allocate();
  blocks.Free(block);
  EXPECT_DEATH(blocks.Free(block), "double free");
  blocks.Free(kept);
}

}  // namespace
}  // namespace zonealloc::bench
