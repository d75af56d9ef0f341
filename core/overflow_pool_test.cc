#include <zonealloc/overflow_pool.h>

#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/internal/counting_page_source.h>

namespace zonealloc {
namespace {

using internal::CountingPageSource;
using internal::PageCall;

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

}  // namespace
}  // namespace zonealloc
