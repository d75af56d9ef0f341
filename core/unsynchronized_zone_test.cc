#include <zonealloc/unsynchronized_zone.h>

#include <vector>

#include "gtest/gtest.h"

namespace zonealloc {
namespace {

// The contract shared with Zone is tested in zone_test.cc; this covers what
// is particular to the single-thread zone.

TEST(UnsynchronizedZoneTest, ReusesTheMostRecentlyFreedBlockFirst) {
  auto zone = UnsynchronizedZone::Create({.block_size = 32, .initial_blocks = 8});
  ASSERT_TRUE(zone.ok());
  void* a = (*zone)->Allocate();
  void* b = (*zone)->Allocate();
  (*zone)->Free(a);
  (*zone)->Free(b);
  EXPECT_EQ((*zone)->Allocate(), b) << "LIFO keeps the hottest block in cache";
  EXPECT_EQ((*zone)->Allocate(), a);
}

TEST(UnsynchronizedZoneTest, FirstAllocationsComeFromLowAddressesInOrder) {
  auto zone = UnsynchronizedZone::Create({.block_size = 64, .initial_blocks = 4});
  ASSERT_TRUE(zone.ok());
  char* first = static_cast<char*>((*zone)->Allocate());
  for (int i = 1; i < 4; ++i) EXPECT_EQ((*zone)->Allocate(), first + i * 64);
}

TEST(UnsynchronizedZoneTest, ABlockCanBeFilledEntirely) {
  auto zone = UnsynchronizedZone::Create({.block_size = 40, .initial_blocks = 2});
  ASSERT_TRUE(zone.ok());
  std::vector<char*> blocks = {static_cast<char*>((*zone)->Allocate()),
                               static_cast<char*>((*zone)->Allocate())};
  for (char* block : blocks) std::fill(block, block + (*zone)->block_size(), '\xff');
  for (char* block : blocks) (*zone)->Free(block);
  EXPECT_NE((*zone)->Allocate(), nullptr);
  EXPECT_NE((*zone)->Allocate(), nullptr);
  EXPECT_EQ((*zone)->Allocate(), nullptr);
}

}  // namespace
}  // namespace zonealloc
