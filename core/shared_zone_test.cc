// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/shared_zone.h>

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/memcheck_hooks.h>

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
    shared.AddFresh(0, static_cast<uint32_t>(blocks));
  }
  // The region is unmapped next; a later fixture's mapping at the same
  // addresses must not find the batch nodes' poison (ASan builds).
  ~Fixture() {
    internal::UnpoisonBeforeUnmap(region.BlockAt(0),
                                  region.committed_blocks() * region.block_size());
  }
  // Takes every block and puts them back: recycled, on the stacks.
  void Recycle() {
    std::vector<void*> all(region.committed_blocks());
    bool refilled_empty = false;
    EXPECT_EQ(shared.Take(all.data(), static_cast<uint32_t>(all.size()), &refilled_empty),
              all.size());
    shared.Put(all.data(), all.size());
  }
  internal::BlockRegion region;
  SharedZone shared;
};

TEST(SharedZoneTest, TakesWholeBatchesThenSinglesAndCountsThemOut) {
  Fixture f(/*blocks=*/20, /*batch_blocks=*/8);
  f.Recycle();  // two batches and 4 singles
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
// use: a directory in node 0 where it fits (64-byte blocks and up for
// batches of 256, 48 and up for 128), a chain of nodes in smaller blocks;
// batch sizes around every node boundary.
TEST(SharedZoneTest, ABatchComesBackInTheOrderItWasPutInEitherLayout) {
  for (size_t block_size : {8, 16, 24, 32, 40, 48, 56, 64, 200, 1024, 1032, 4096}) {
    for (uint32_t batch_blocks : {1u, 2u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 47u, 48u, 49u,
                                  63u, 64u, 65u, 127u, 128u, 129u, 255u, 256u}) {
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

// Where the indices go: node j lists batch[1 + j*w, 1 + (j+1)*w). In the
// directory layout node j is batch[j] (node 0 names the others first); in
// the chain layout it is batch[j*w], the last block node j-1 lists.
std::vector<uint32_t> NodeWords(const internal::BlockRegion& region, const void* node, size_t n) {
  std::vector<uint32_t> words(n);
  internal::UnpoisonBlock(node, region.block_size());
  std::memcpy(words.data(), node, n * sizeof(uint32_t));
  internal::PoisonFreeBlock(node, region.block_size());
  return words;
}

std::vector<uint32_t> IndicesOf(const internal::BlockRegion& region, const void* const* blocks,
                                size_t n) {
  std::vector<uint32_t> indices;
  for (size_t k = 0; k < n; ++k) indices.push_back(region.IndexOf(blocks[k]));
  return indices;
}

TEST(SharedZoneTest, ABatchsNodesAreADirectoryWhereNodeZeroHasRoomElseAChain) {
  struct Case {
    size_t block_size;
    bool directory;
  };
  // 128-block batches: 64-byte nodes hold 16 indices, so 8 nodes, named in
  // node 0; 16-byte nodes hold 4, so 32 nodes, too many to name there.
  for (const Case c : {Case{64, true}, Case{16, false}}) {
    SCOPED_TRACE(testing::Message() << c.block_size << "-byte blocks");
    Fixture f(/*blocks=*/128, /*batch_blocks=*/128, /*use_batches=*/true, c.block_size);
    std::vector<void*> batch(128);
    bool refilled_empty = false;
    ASSERT_EQ(f.shared.Take(batch.data(), 128, &refilled_empty), 128u);
    std::reverse(batch.begin(), batch.end());  // not in address order
    f.shared.Put(batch.data(), batch.size());
    const size_t w = c.block_size / sizeof(uint32_t);
    const void* node1 = c.directory ? batch[1] : batch[w];
    EXPECT_EQ(NodeWords(f.region, batch[0], w), IndicesOf(f.region, &batch[1], w));
    EXPECT_EQ(NodeWords(f.region, node1, w), IndicesOf(f.region, &batch[1 + w], w));
  }
}

TEST(SharedZoneTest, FreshBlocksComeInAddressOrderAfterRecycledOnes) {
  Fixture f(/*blocks=*/16, /*batch_blocks=*/4);
  void* out[16];
  bool refilled_empty = false;
  ASSERT_EQ(f.shared.Take(out, 4, &refilled_empty), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(out[i], f.region.BlockAt(i)) << "fresh, in order";
  f.shared.Put(out, 4);
  ASSERT_EQ(f.shared.Take(out, 8, &refilled_empty), 8u);
  EXPECT_EQ(std::set<void*>(out, out + 4),
            std::set<void*>({f.region.BlockAt(0), f.region.BlockAt(1), f.region.BlockAt(2),
                             f.region.BlockAt(3)}))
      << "the recycled batch first";
  for (uint32_t i = 4; i < 8; ++i) EXPECT_EQ(out[i], f.region.BlockAt(i)) << "then fresh ones";
  EXPECT_EQ(f.shared.blocks_out(), 8);
  EXPECT_FALSE(f.shared.Empty()) << "8 fresh blocks left";
}

// Handing a segment over writes nothing into it: its pages stay untouched
// until a thread uses its blocks.
TEST(SharedZoneTest, FreshBlocksArePagesNoOneTouched) {
  const size_t page = PageSize();
  Fixture f(/*blocks=*/64 * page / 64, /*batch_blocks=*/32);  // 64 pages of blocks
  auto* first = static_cast<char*>(f.region.BlockAt(0));
  std::vector<unsigned char> resident(64);
  ASSERT_EQ(mincore(first, 64 * page, resident.data()), 0) << std::strerror(errno);
  EXPECT_EQ(std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; }),
            0);
  void* block;
  int64_t blocks_out = 0;
  ASSERT_EQ(block = f.shared.PopOne(&blocks_out), first);
  EXPECT_EQ(blocks_out, 1);
}

// Whole batches go on their stack through the batch slots: the per-block
// links stay untouched (4 MiB of them for a million blocks otherwise).
TEST(SharedZoneTest, WholeBatchesTouchNoPerBlockLink) {
  const size_t page = PageSize();
  const size_t link_pages = 16;
  Fixture f(/*blocks=*/link_pages * page / sizeof(uint32_t), /*batch_blocks=*/32);
  f.Recycle();
  std::vector<unsigned char> resident(link_pages);
  ASSERT_EQ(mincore(f.region.links(), link_pages * page, resident.data()), 0)
      << std::strerror(errno);
  EXPECT_EQ(std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; }),
            0);
  std::vector<void*> all(f.region.committed_blocks());
  bool refilled_empty = false;
  EXPECT_EQ(f.shared.Take(all.data(), static_cast<uint32_t>(all.size()), &refilled_empty),
            all.size());
  EXPECT_EQ(std::set<void*>(all.begin(), all.end()).size(), all.size()) << "every block once";
}

// Batches of 2 in groups of 8: the second batch of a group finds the
// group's slot taken by the first and goes on as single blocks.
TEST(SharedZoneTest, ABatchWithoutAFreeSlotGoesOnAsSingles) {
  Fixture f(/*blocks=*/16, /*batch_blocks=*/2);
  void* out[4];
  bool refilled_empty = false;
  ASSERT_EQ(f.shared.Take(out, 4, &refilled_empty), 4u);  // blocks 0-3, all in group 0
  f.shared.Put(out, 4);
  void* again[4];
  ASSERT_EQ(f.shared.Take(again, 2, &refilled_empty), 2u);
  EXPECT_EQ(again[0], out[0]) << "the one batch";
  EXPECT_EQ(again[1], out[1]);
  ASSERT_EQ(f.shared.Take(again + 2, 2, &refilled_empty), 2u);
  EXPECT_EQ(std::set<void*>(again + 2, again + 4), std::set<void*>({out[2], out[3]}))
      << "then the singles";
  // Popping the batch freed the group's slot: the pair is a batch now, so
  // the single-block path does not see it and takes a fresh block.
  f.shared.Put(again + 2, 2);
  int64_t blocks_out = 0;
  EXPECT_EQ(f.shared.PopOne(&blocks_out), f.region.BlockAt(4));
  ASSERT_EQ(f.shared.Take(again, 2, &refilled_empty), 2u);
  EXPECT_EQ(again[0], out[2]) << "the batch, in order";
  EXPECT_EQ(again[1], out[3]);
}

// Threads take and put batches of blocks that share few slots, so claims
// and releases race; no block is lost or handed out twice.
TEST(SharedZoneTest, ConcurrentTakesAndPutsKeepEveryBlockOnce) {
  constexpr uint32_t kBatch = 4;
  Fixture f(/*blocks=*/256, kBatch);
  f.Recycle();
  // Slots held: word 2g + 1 of each group of 8 blocks.
  const auto held_slots = [&f] {
    int held = 0;
    for (int g = 0; g < 256 / 8; ++g) held += f.region.batch_slots()[2 * g + 1].load() != 0;
    return held;
  };
  ASSERT_GT(held_slots(), 0) << "some batches found a slot";
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, t] {
      void* held[3 * kBatch];
      bool refilled_empty = false;
      for (int round = 0; round < 20000; ++round) {
        const uint32_t want = kBatch * (1 + (round + t) % 3) - (round % 5 == 0 ? 1 : 0);
        const uint32_t n = f.shared.Take(held, want, &refilled_empty);
        f.shared.Put(held, n);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(f.shared.blocks_out(), 0);
  std::vector<void*> all(256 + 1);
  bool refilled_empty = false;
  EXPECT_EQ(f.shared.Take(all.data(), 256 + 1, &refilled_empty), 256u);
  all.pop_back();
  EXPECT_EQ(std::set<void*>(all.begin(), all.end()).size(), 256u) << "every block once";
  EXPECT_EQ(held_slots(), 0) << "every claimed slot was given back";
}

TEST(SharedZoneDeathTest, ReplacingUnusedFreshBlocksIsAnInternalError) {
  Fixture f(/*blocks=*/8, /*batch_blocks=*/4);
  EXPECT_DEATH(f.shared.AddFresh(8, 4), "replaced 8 fresh blocks");
}

TEST(SharedZoneTest, BreaksUpABatchWhenNoSingleIsLeft) {
  Fixture f(/*blocks=*/8, /*batch_blocks=*/8);
  f.Recycle();  // one batch, no singles
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
