// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/unsynchronized_zone.h>

#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/zone_service.h>

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

TEST(UnsynchronizedZoneTest, IsChargedToTheBudgetAndRefunded) {
  auto service = *ZoneService::Create({.name = "small", .permanent_budget_bytes = 1 << 20});
  auto too_big = UnsynchronizedZone::Create({.block_size = 64, .initial_blocks = 1 << 20},
                                            *service);
  ASSERT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.status().message(), ::testing::HasSubstr("service 'small'"));
  {
    auto zone = UnsynchronizedZone::Create({.block_size = 64, .initial_blocks = 100}, *service);
    ASSERT_TRUE(zone.ok());
    EXPECT_EQ(service->permanent_bytes(), 100u * 69);
  }
  EXPECT_EQ(service->permanent_bytes(), 0u);
}

}  // namespace
}  // namespace zonealloc
