// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/shared_zone.h>

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/internal/block_region.h>

namespace zonealloc {
namespace {

// A region of `blocks` blocks of `block_size` bytes, all handed to a
// SharedZone.
struct Fixture {
  explicit Fixture(size_t blocks, uint32_t batch_blocks, bool use_batches = true,
                   size_t block_size = 64)
      : region(*internal::BlockRegion::Create(DefaultPageSource(), "t", block_size, blocks,
                                              blocks)),
        shared(region, batch_blocks, use_batches) {
    std::vector<void*> all(blocks);
    for (size_t i = 0; i < blocks; ++i) all[i] = region.BlockAt(static_cast<uint32_t>(i));
    shared.AddFresh(all.data(), all.size());
  }
  internal::BlockRegion region;
  SharedZone shared;
};

TEST(SharedZoneTest, TakesWholeBatchesThenSinglesAndCountsThemOut) {
  Fixture f(/*blocks=*/20, /*batch_blocks=*/8);  // two batches and 4 singles
  void* out[32];
  bool refilled_empty = false;
  EXPECT_EQ(f.shared.Take(out, 16, &refilled_empty), 16u) << "two whole batches";
  EXPECT_EQ(f.shared.blocks_out(), 16);
  EXPECT_EQ(f.shared.Take(out + 16, 16, &refilled_empty), 4u) << "then what is left";
  EXPECT_TRUE(f.shared.Empty());
  EXPECT_EQ(std::set<void*>(out, out + 20).size(), 20u) << "every block once";
  EXPECT_TRUE(f.shared.Put(out, 20)) << "a put onto an empty zone says so";
  EXPECT_EQ(f.shared.blocks_out(), 0);
  EXPECT_FALSE(f.shared.Put(nullptr, 0));
}

// A batch comes back as it was put, in order, whichever layout its nodes
// use: a directory in node 0 where it fits (48-byte blocks and up for long
// batches), a chain of nodes in smaller blocks.
TEST(SharedZoneTest, ABatchComesBackInTheOrderItWasPutInEitherLayout) {
  for (size_t block_size : {8, 16, 32, 48, 64, 200, 4096}) {
    for (uint32_t batch_blocks : {1u, 2u, 7u, 17u, 64u, 129u, 256u}) {
      SCOPED_TRACE(testing::Message() << block_size << " B, batches of " << batch_blocks);
      Fixture f(/*blocks=*/2 * batch_blocks, batch_blocks, /*use_batches=*/true, block_size);
      std::vector<void*> taken(2 * batch_blocks);
      bool refilled_empty = false;
      ASSERT_EQ(f.shared.Take(taken.data(), 2 * batch_blocks, &refilled_empty), 2 * batch_blocks);
      // Put back in a shuffled order, then take one batch.
      std::vector<void*> put(taken.rbegin(), taken.rend());
      std::swap(put[0], put[put.size() / 2]);
      f.shared.Put(put.data(), put.size());
      std::vector<void*> batch(batch_blocks);
      ASSERT_EQ(f.shared.Take(batch.data(), batch_blocks, &refilled_empty), batch_blocks);
      const bool first = batch.front() == put.front();
      const auto expected = first ? put.begin() : put.begin() + batch_blocks;
      EXPECT_TRUE(std::equal(batch.begin(), batch.end(), expected)) << "one batch, in order";
    }
  }
}

TEST(SharedZoneTest, BreaksUpABatchWhenNoSingleIsLeft) {
  Fixture f(/*blocks=*/8, /*batch_blocks=*/8);  // one batch, no singles
  void* out[8];
  bool refilled_empty = false;
  ASSERT_EQ(f.shared.Take(out, 3, &refilled_empty), 3u);
  EXPECT_TRUE(refilled_empty) << "the 5 left went onto the empty single stack";
  EXPECT_EQ(f.shared.blocks_out(), 3);
  refilled_empty = false;
  EXPECT_EQ(f.shared.Take(out + 3, 5, &refilled_empty), 5u);
  EXPECT_EQ(std::set<void*>(out, out + 8).size(), 8u);
}

TEST(SharedZoneTest, WithoutBatchesEveryBlockIsASingle) {
  Fixture f(/*blocks=*/4, /*batch_blocks=*/2, /*use_batches=*/false);
  int64_t blocks_out = 0;
  std::set<void*> taken;
  while (void* block = f.shared.PopOne(&blocks_out)) taken.insert(block);
  EXPECT_EQ(taken.size(), 4u);
  EXPECT_EQ(blocks_out, 4);
  EXPECT_TRUE(f.shared.PushOne(*taken.begin())) << "pushed onto an empty stack";
  EXPECT_FALSE(f.shared.PushOne(*taken.rbegin()));
  EXPECT_EQ(f.shared.blocks_out(), 2);
}

}  // namespace
}  // namespace zonealloc
