// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/overflow_pool.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/testing/counting_page_source.h>

namespace zonealloc {
namespace {

using internal::CountingPageSource;
using internal::PageCall;
using testing::HasSubstr;

TEST(OverflowPoolTest, FillsASlabBeforeMappingAnother) {
  CountingPageSource pages;
  OverflowPool pool(pages, "zonealloc-overflow:t", 64, 16, /*slab_blocks=*/4, 0);
  EXPECT_GE(pool.slab_blocks(), 4u) << "rounded up to fill the slab";
  std::set<void*> blocks;
  for (size_t i = 0; i < pool.slab_blocks(); ++i) blocks.insert(pool.Allocate());
  EXPECT_EQ(blocks.size(), pool.slab_blocks());
  EXPECT_EQ(pages.calls(PageCall::kMap), 1);
  blocks.insert(pool.Allocate());
  EXPECT_EQ(pages.calls(PageCall::kMap), 2);
  for (void* block : blocks) {
    EXPECT_TRUE(pool.Owns(block));
    std::memset(block, 0xCD, 64);
    EXPECT_TRUE(pool.Free(block, /*zone_has_free_blocks=*/true));
  }
  EXPECT_EQ(pool.stats().slabs_live, 0u);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

// The zone's slow path asks before each block, to map at most one slab
// per hold of its lock.
TEST(OverflowPoolTest, NextAllocateMapsSaysWhenAllocateWouldMap) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, /*slab_blocks=*/4, 0);
  EXPECT_TRUE(pool.NextAllocateMaps()) << "no slab yet";
  std::vector<void*> blocks;
  for (size_t i = 0; i < pool.slab_blocks(); ++i) {
    EXPECT_EQ(pool.NextAllocateMaps(), i == 0) << "block " << i;
    blocks.push_back(pool.Allocate());
  }
  EXPECT_TRUE(pool.NextAllocateMaps()) << "the slab is full";
  const int maps = pages.calls(PageCall::kMap);
  for (void* block : blocks) pool.Free(block, /*zone_has_free_blocks=*/false);
  EXPECT_FALSE(pool.NextAllocateMaps()) << "the spare is reused";
  blocks = {pool.Allocate()};
  EXPECT_EQ(pages.calls(PageCall::kMap), maps);
  pool.Free(blocks[0], /*zone_has_free_blocks=*/true);
  EXPECT_TRUE(pool.NextAllocateMaps());
}

TEST(OverflowPoolTest, AllocateSaysWhetherABlockWasHandedOutBefore) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, /*slab_blocks=*/4, 0);
  bool recycled = true;
  void* first = pool.Allocate(&recycled);
  EXPECT_FALSE(recycled) << "a new slab's block";
  void* second = pool.Allocate(&recycled);
  EXPECT_FALSE(recycled);
  ASSERT_TRUE(pool.Free(first, /*zone_has_free_blocks=*/false));
  EXPECT_EQ(pool.Allocate(&recycled), first);
  EXPECT_TRUE(recycled) << "freed before";
  EXPECT_TRUE(pool.Free(first, false));
  EXPECT_TRUE(pool.Free(second, false));
}

TEST(OverflowPoolTest, ASlabHoldsAtLeastTheBlocksAskedFor) {
  for (size_t block_size = 8; block_size <= 2 * PageSize(); block_size += 8) {
    for (size_t slab_blocks : {1, 2, 3, 64, 65}) {
      OverflowPool pool(DefaultPageSource(), "t", block_size, 8, slab_blocks, 0);
      ASSERT_GE(pool.slab_blocks(), slab_blocks) << block_size << "-byte blocks";
    }
  }
}

TEST(OverflowPoolTest, KeepsOneSpareWhileTheZoneIsFull) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, 4, 0);
  void* a = pool.Allocate();
  ASSERT_TRUE(pool.Free(a, /*zone_has_free_blocks=*/false));
  EXPECT_TRUE(pool.has_spare());
  EXPECT_EQ(pool.stats().slabs_live, 1u);
  // The zone on the edge of full: the spare is reused, nothing is mapped.
  void* b = pool.Allocate();
  EXPECT_EQ(pages.calls(PageCall::kMap), 1);
  ASSERT_TRUE(pool.Free(b, false));
  // The zone has free blocks again: the spare goes back.
  pool.ReleaseSpare();
  EXPECT_FALSE(pool.has_spare());
  EXPECT_EQ(pool.stats().slabs_live, 0u);
  EXPECT_EQ(pool.stats().slabs_released, 1u);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, NeverKeepsMoreThanOneSpare) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, 1, 0);
  std::vector<void*> blocks;
  for (size_t i = 0; i < pool.slab_blocks() + 1; ++i) blocks.push_back(pool.Allocate());
  ASSERT_EQ(pool.stats().slabs_live, 2u);
  for (void* block : blocks) pool.Free(block, /*zone_has_free_blocks=*/false);
  EXPECT_EQ(pool.stats().slabs_live, 1u);
  EXPECT_TRUE(pool.has_spare());
}

TEST(OverflowPoolTest, IsHandedOutFollowsAllocateAndFree) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, 8, 0);
  void* kept = pool.Allocate();
  void* block = pool.Allocate();
  EXPECT_TRUE(pool.IsHandedOut(block));
  EXPECT_TRUE(pool.Free(block, /*zone_has_free_blocks=*/false));
  EXPECT_TRUE(pool.Owns(block));
  EXPECT_FALSE(pool.IsHandedOut(block));
  int on_stack = 0;
  EXPECT_FALSE(pool.IsHandedOut(&on_stack));
  EXPECT_TRUE(pool.Free(kept, /*zone_has_free_blocks=*/true));
}

TEST(OverflowPoolTest, CapReturnsNullptr) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, 8, /*max_blocks_in_use=*/2);
  void* a = pool.Allocate();
  void* b = pool.Allocate();
  EXPECT_EQ(pool.Allocate(), nullptr);
  pool.Free(a, true);
  EXPECT_NE(pool.Allocate(), nullptr);
  (void)b;
}

TEST(OverflowPoolTest, FailedMapReturnsNullptrAndChangesNothing) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, 4, 0);
  pages.FailNext(PageCall::kMap);
  EXPECT_EQ(pool.Allocate(), nullptr);
  EXPECT_EQ(pool.stats().slabs_live, 0u);
  EXPECT_EQ(pool.stats().blocks_in_use, 0u);
  void* block = pool.Allocate();
  ASSERT_NE(block, nullptr);
  pool.Free(block, true);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, PastMaxSlabsAllocateReturnsNullptrUntilASlabGoesBack) {
  CountingPageSource pages;
  // max_blocks_in_use far above two slabs' blocks: the slab cap stops it first.
  OverflowPool pool(pages, "t", 64, 16, /*slab_blocks=*/1, /*max_blocks_in_use=*/1000,
                    /*max_slabs=*/2);
  std::vector<void*> blocks;
  errno = 0;
  while (void* block = pool.Allocate()) blocks.push_back(block);
  ASSERT_LT(blocks.size(), 1000u);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(pool.stats().slabs_live, 2u);
  EXPECT_EQ(pool.stats().slabs_created, 2u);
  EXPECT_EQ(pages.calls(PageCall::kMap), 2) << "the third slab is not even mapped";

  // The second slab's blocks, last handed out, empty it: it goes back.
  const size_t second_slab_blocks = blocks.size() - pool.slab_blocks();
  for (size_t i = 0; i < second_slab_blocks; ++i) {
    pool.Free(blocks.back(), /*zone_has_free_blocks=*/true);
    blocks.pop_back();
  }
  EXPECT_EQ(pool.stats().slabs_live, 1u);
  void* again = pool.Allocate();
  EXPECT_NE(again, nullptr);
  blocks.push_back(again);
  for (void* block : blocks) pool.Free(block, true);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, RejectsPointersItDoesNotOwn) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, 4, 0);
  char* block = static_cast<char*>(pool.Allocate());
  int on_stack = 0;
  EXPECT_FALSE(pool.Owns(&on_stack));
  EXPECT_FALSE(pool.Free(&on_stack, true));
  EXPECT_FALSE(pool.Owns(block + 8)) << "inside a block";
  EXPECT_TRUE(pool.Free(block, true));
  EXPECT_FALSE(pool.Owns(block)) << "its slab is gone";
}

TEST(OverflowPoolTest, RejectsThePartialBlockAtTheEndOfASlab) {
  // 48-byte blocks leave a tail shorter than a block at the end of the slab.
  OverflowPool pool(DefaultPageSource(), "t", 48, 16, 4, 0);
  char* first = static_cast<char*>(pool.Allocate());
  char* past_last = first + pool.slab_blocks() * 48;
  EXPECT_FALSE(pool.Owns(past_last));
  EXPECT_FALSE(pool.Free(past_last, true));
  pool.Free(first, true);
}

TEST(OverflowPoolTest, FreeingABlockNeverHandedOutAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  OverflowPool pool(DefaultPageSource(), "zonealloc-overflow:conn", 64, 16, 8, 0);
  char* first = static_cast<char*>(pool.Allocate());
  EXPECT_DEATH(pool.Free(first + 64 * 3, true), "zonealloc-overflow:conn.*never handed out");
  pool.Free(first, true);
}

TEST(OverflowPoolTest, FreeingABlockTwiceAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  OverflowPool pool(DefaultPageSource(), "zonealloc-overflow:conn", 64, 16, 8, 0);
  void* kept = pool.Allocate();
  void* block = pool.Allocate();
  ASSERT_TRUE(pool.Free(block, true));
  EXPECT_DEATH(pool.Free(block, true), "zonealloc-overflow:conn.*freed twice");
  pool.Free(kept, true);
}

TEST(OverflowPoolTest, HonoursAlignment) {
  OverflowPool pool(DefaultPageSource(), "t", 256, 256, 4, 0);
  std::vector<void*> blocks;
  for (size_t i = 0; i < pool.slab_blocks() + 2; ++i) {
    blocks.push_back(pool.Allocate());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.back()) % 256, 0u);
  }
  for (void* block : blocks) pool.Free(block, true);
}

TEST(OverflowPoolTest, DestructionUnmapsEverySlab) {
  CountingPageSource pages;
  {
    OverflowPool pool(pages, "t", 64, 16, 2, 0);
    for (int i = 0; i < 5; ++i) pool.Allocate();
  }
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, SlabsGrowWithDemand) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, /*slab_blocks=*/4, 0);
  std::vector<void*> blocks;
  for (int i = 0; i < 100'000; ++i) blocks.push_back(pool.Allocate());
  // 4-block slabs would take 25,000 mappings. Doubling from one page to
  // 4 MiB takes 11 (with 4 KiB pages) and the 6.4 MB of blocks fit in one more.
  EXPECT_LE(pages.calls(PageCall::kMap), 16);
  EXPECT_EQ(pool.stats().slabs_created, static_cast<size_t>(pages.calls(PageCall::kMap)));
  EXPECT_GE(pool.stats().mapped_bytes, 100'000u * 64);
  for (void* block : blocks) ASSERT_TRUE(pool.Free(block, /*zone_has_free_blocks=*/true));
  EXPECT_EQ(pool.stats().slabs_live, 0u);
  EXPECT_EQ(pool.stats().mapped_bytes, 0u);
  EXPECT_EQ(pages.outstanding_mappings(), 0);

  // With nothing live, the next slab is the base size again.
  void* block = pool.Allocate();
  EXPECT_EQ(pool.stats().mapped_bytes, PageSize());
  pool.Free(block, true);
}

// Doubling stops at kMaxSlabBytes: a long burst maps slabs of the cap's
// size, not ever larger ones.
TEST(OverflowPoolTest, SlabsStopGrowingAtTheCap) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, /*slab_blocks=*/4, 0);
  std::vector<void*> blocks;
  std::vector<size_t> slab_bytes;
  size_t mapped = 0;
  while (slab_bytes.size() < 16 || slab_bytes.back() < OverflowPool::kMaxSlabBytes ||
         slab_bytes[slab_bytes.size() - 3] < OverflowPool::kMaxSlabBytes) {
    blocks.push_back(pool.Allocate());
    ASSERT_NE(blocks.back(), nullptr);
    if (pool.stats().mapped_bytes != mapped) {
      slab_bytes.push_back(pool.stats().mapped_bytes - mapped);
      mapped = pool.stats().mapped_bytes;
    }
  }
  EXPECT_EQ(slab_bytes.front(), PageSize());
  for (size_t i = 1; i < slab_bytes.size(); ++i) {
    EXPECT_LE(slab_bytes[i], OverflowPool::kMaxSlabBytes) << "slab " << i;
    EXPECT_GE(slab_bytes[i], slab_bytes[i - 1]) << "slab " << i;
  }
  for (void* block : blocks) ASSERT_TRUE(pool.Free(block, /*zone_has_free_blocks=*/true));
  EXPECT_EQ(pool.stats().slabs_live, 0u);
}

// A new slab's blocks go out in address order, so the untouched rest of it
// costs address space only.
TEST(OverflowPoolTest, ANewSlabHandsOutItsBlocksInAddressOrder) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, /*slab_blocks=*/16, 0);
  std::vector<char*> blocks;
  for (int i = 0; i < 16; ++i) blocks.push_back(static_cast<char*>(pool.Allocate()));
  ASSERT_EQ(pool.stats().slabs_created, 1u);
  for (size_t i = 1; i < blocks.size(); ++i) EXPECT_EQ(blocks[i] - blocks[i - 1], 64) << i;
  for (char* block : blocks) pool.Free(block, /*zone_has_free_blocks=*/true);
}

TEST(OverflowPoolTest, RejectsHeadersInteriorsAndTailsOfGrownSlabs) {
  OverflowPool pool(DefaultPageSource(), "t", 64, 16, 4, 0);
  // Fill slabs until a fifth one is mapped; slabs three and four are grown.
  std::vector<char*> blocks;
  std::vector<size_t> first_of_slab;  // indices into blocks
  size_t slabs = 0;
  while (slabs < 5) {
    blocks.push_back(static_cast<char*>(pool.Allocate()));
    if (pool.stats().slabs_created > slabs) {
      slabs = pool.stats().slabs_created;
      first_of_slab.push_back(blocks.size() - 1);
    }
  }
  for (size_t slab = 0; slab < 4; ++slab) {
    char* first = blocks[first_of_slab[slab]];
    char* last = blocks[first_of_slab[slab + 1] - 1];
    char* header = first - reinterpret_cast<uintptr_t>(first) % PageSize();
    for (char* p : {header, header + 8, first - 16, first + 8, last + 32, last + 64, last + 128}) {
      EXPECT_FALSE(pool.Owns(p)) << "slab " << slab << ", offset " << p - header;
      EXPECT_FALSE(pool.Free(p, true)) << "slab " << slab << ", offset " << p - header;
    }
    EXPECT_TRUE(pool.Owns(first));
    EXPECT_TRUE(pool.Owns(last));
  }
  for (char* block : blocks) ASSERT_TRUE(pool.Free(block, true));
}

TEST(OverflowPoolTest, ARefusedUnmapKeepsTheSlabLiveUntilARetrySucceeds) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, 4, 0);
  void* block = pool.Allocate();
  pages.FailNext(PageCall::kUnmap);
  ASSERT_TRUE(pool.Free(block, /*zone_has_free_blocks=*/true));
  // The slab is still mapped, and the stats say so.
  OverflowStats stats = pool.stats();
  EXPECT_EQ(stats.unmap_failures, 1u);
  EXPECT_EQ(stats.slabs_unreleased, 1u);
  EXPECT_EQ(stats.slabs_live, 1u);
  EXPECT_EQ(stats.slabs_released, 0u);
  EXPECT_EQ(stats.mapped_bytes, PageSize());
  EXPECT_EQ(pages.outstanding_mappings(), 1);

  // It is reused before anything new is mapped.
  block = pool.Allocate();
  EXPECT_EQ(pages.calls(PageCall::kMap), 1);
  EXPECT_EQ(pool.stats().slabs_unreleased, 0u);

  // Refused again; ReleaseSpare() tries again, and this time it goes back.
  pages.FailNext(PageCall::kUnmap);
  ASSERT_TRUE(pool.Free(block, true));
  EXPECT_EQ(pool.stats().unmap_failures, 2u);
  pool.ReleaseSpare();
  stats = pool.stats();
  EXPECT_EQ(stats.slabs_unreleased, 0u);
  EXPECT_EQ(stats.slabs_live, 0u);
  EXPECT_EQ(stats.slabs_released, 1u);
  EXPECT_EQ(stats.mapped_bytes, 0u);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, TheNextSlabReleaseRetriesARefusedOne) {
  CountingPageSource pages;
  OverflowPool pool(pages, "t", 64, 16, 1, 0);
  std::vector<void*> first_slab;
  for (size_t i = 0; i < pool.slab_blocks(); ++i) first_slab.push_back(pool.Allocate());
  void* second_slab = pool.Allocate();
  ASSERT_EQ(pool.stats().slabs_live, 2u);

  pages.FailNext(PageCall::kUnmap);
  for (void* block : first_slab) pool.Free(block, true);
  EXPECT_EQ(pool.stats().slabs_unreleased, 1u);
  pool.Free(second_slab, true);  // both go back
  EXPECT_EQ(pool.stats().slabs_unreleased, 0u);
  EXPECT_EQ(pool.stats().slabs_released, 2u);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, DestructionTriesARefusedUnmapAgain) {
  CountingPageSource pages;
  {
    OverflowPool pool(pages, "t", 64, 16, 4, 0);
    pool.Allocate();
    pages.FailNext(PageCall::kUnmap);
  }
  EXPECT_EQ(pages.calls(PageCall::kUnmap), 2);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, DestructionRetriesARefusedUnmapAmongOtherSlabs) {
  CountingPageSource pages;
  {
    OverflowPool pool(pages, "t", 64, 16, /*slab_blocks=*/1, 0);
    while (pool.stats().slabs_live < 3) ASSERT_NE(pool.Allocate(), nullptr);
    pages.FailAfter(PageCall::kUnmap, 1);  // the second slab the destructor unmaps
  }
  EXPECT_EQ(pages.calls(PageCall::kUnmap), 4) << "three, and the refused one again";
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(OverflowPoolTest, DestructionReportsMemoryItCannotReturn) {
  CountingPageSource pages;
  void* block;
  testing::internal::CaptureStderr();
  {
    OverflowPool pool(pages, "zonealloc-overflow:conn", 64, 16, 4, 0);
    block = pool.Allocate();
    pages.FailNext(PageCall::kUnmap, 2);  // the destructor's try and its retry
  }
  const std::string report = testing::internal::GetCapturedStderr();
  EXPECT_THAT(report, HasSubstr("overflow 'zonealloc-overflow:conn': 1 slabs (" +
                                std::to_string(PageSize()) + " bytes) stay mapped"));
  EXPECT_THAT(report, HasSubstr(std::strerror(ENOMEM)));
  // The slab is indeed still mapped; give it back for the pool.
  EXPECT_EQ(pages.outstanding_mappings(), 1);
  void* slab = static_cast<char*>(block) - reinterpret_cast<uintptr_t>(block) % PageSize();
  EXPECT_TRUE(pages.Unmap(slab, PageSize()));
}

}  // namespace
}  // namespace zonealloc
