// SPDX-License-Identifier: Apache-2.0
// A program whose NDEBUG differs from the library's must still work: this
// file is built twice, with -DNDEBUG (includer_ndebug_test) and with
// -UNDEBUG (includer_assert_test), and linked against the library as the
// preset built it (Release, Debug or RelWithDebInfo). Before the debug-check
// level was fixed in <zonealloc/config.h>, the inline Free() of one build
// disagreed with the library's refill path and aborted with a false
// "double free".

#include <cassert>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>

namespace zonealloc {
namespace {

TEST(IncluderFlagsTest, ThisProgramHasTheNdebugItAskedFor) {
#if defined(NDEBUG)
  EXPECT_TRUE(ZONEALLOC_TEST_EXPECT_NDEBUG);
#else
  EXPECT_FALSE(ZONEALLOC_TEST_EXPECT_NDEBUG);
#endif
}

TEST(IncluderFlagsTest, BlocksThroughRefillsFlushesAndBulkCallsFreeCleanly) {
  auto zone = Zone::Create({.name = "conn", .block_size = 64, .initial_blocks = 4096});
  ASSERT_TRUE(zone.ok()) << zone.status();
  for (int round = 0; round < 3; ++round) {
    std::vector<void*> blocks;
    for (int i = 0; i < 3000; ++i) blocks.push_back((*zone)->Allocate());  // refills
    for (void* block : blocks) (*zone)->Free(block);                       // flushes
    std::vector<void*> bulk(1000);
    ASSERT_EQ((*zone)->AllocateBulk(bulk), bulk.size());
    for (size_t i = 0; i < bulk.size(); i += 2) (*zone)->Free(bulk[i]);
    for (size_t i = 1; i < bulk.size(); i += 2) {
      void* block = (*zone)->Allocate();
      ASSERT_NE(block, nullptr);
      (*zone)->FreeBulk({&bulk[i], 1});
      (*zone)->Free(block);
    }
  }
  (*zone)->Drain();
  EXPECT_EQ((*zone)->Stats().in_use_blocks, 0u);
}

TEST(IncluderFlagsTest, UnsynchronizedZoneToo) {
  auto zone = UnsynchronizedZone::Create({.block_size = 32, .initial_blocks = 100});
  ASSERT_TRUE(zone.ok()) << zone.status();
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back((*zone)->Allocate());
  for (void* block : blocks) (*zone)->Free(block);
  EXPECT_EQ((*zone)->Stats().in_use_blocks, 0u);
}

}  // namespace
}  // namespace zonealloc
