// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_resource.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <new>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/ring_handoff.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/zone.h>

namespace zonealloc {
namespace {

std::unique_ptr<Zone> MakeZone(ZoneOptions options) {
  absl::StatusOr<std::unique_ptr<Zone>> zone = Zone::Create(options);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return *std::move(zone);
}

// An upstream that counts what reaches it.
class CountingResource : public std::pmr::memory_resource {
 public:
  int allocations = 0;
  int deallocations = 0;

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    ++deallocations;
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

TEST(ZoneResourceTest, PmrListNodesAreZoneBlocks) {
  auto zone = MakeZone({.name = "list", .block_size = 32});
  CountingResource upstream;
  ZoneResource resource(*zone, &upstream);
  {
    std::pmr::list<int64_t> list(&resource);
    for (int64_t i = 0; i < 1000; ++i) list.push_back(i);
    EXPECT_EQ(zone->Stats().in_use_blocks, 1000u);
    EXPECT_EQ(std::accumulate(list.begin(), list.end(), int64_t{0}), 999 * 1000 / 2);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
  EXPECT_EQ(upstream.allocations, 0);
}

TEST(ZoneResourceTest, PmrMapNodesAreZoneBlocksAndStringsGoUpstream) {
  auto zone = MakeZone({.name = "map", .block_size = 96});
  CountingResource upstream;
  ZoneResource resource(*zone, &upstream);
  {
    std::pmr::map<int, std::pmr::string> map(&resource);
    for (int i = 0; i < 500; ++i) {
      // Longer than the short-string buffer and than a block: upstream.
      map.emplace(i, std::pmr::string(200, static_cast<char>('a' + i % 26)));
    }
    EXPECT_EQ(zone->Stats().in_use_blocks, 500u);
    EXPECT_EQ(std::string_view(map.at(27)), std::string(200, 'b'));
    EXPECT_EQ(upstream.allocations, 500);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
  EXPECT_EQ(upstream.deallocations, 500);
}

TEST(ZoneResourceTest, OversizeRequestsGoUpstreamBothWays) {
  auto zone = MakeZone({.name = "small", .block_size = 64});
  CountingResource upstream;
  ZoneResource resource(*zone, &upstream);
  EXPECT_TRUE(resource.ServedByZone(64, 8));
  EXPECT_FALSE(resource.ServedByZone(65, 8));

  void* in_zone = resource.allocate(64, 8);
  EXPECT_TRUE(zone->Owns(in_zone));
  void* upstream_block = resource.allocate(65, 8);
  EXPECT_FALSE(zone->Owns(upstream_block));
  EXPECT_EQ(upstream.allocations, 1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 1u);

  resource.deallocate(upstream_block, 65, 8);
  EXPECT_EQ(upstream.deallocations, 1);
  resource.deallocate(in_zone, 64, 8);
  EXPECT_EQ(upstream.deallocations, 1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneResourceTest, OverAlignedRequestsGoUpstream) {
  auto zone = MakeZone({.name = "aligned", .block_size = 256, .alignment = 64});
  CountingResource upstream;
  ZoneResource resource(*zone, &upstream);
  // The zone's blocks are 64-aligned: up to 64 the zone serves the request.
  EXPECT_EQ(zone->alignment(), 64u);
  EXPECT_TRUE(resource.ServedByZone(8, 64));
  void* in_zone = resource.allocate(8, 64);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(in_zone) % 64, 0u);
  EXPECT_EQ(zone->Stats().in_use_blocks, 1u);
  resource.deallocate(in_zone, 8, 64);

  EXPECT_FALSE(resource.ServedByZone(8, 128));
  void* p = resource.allocate(8, 128);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 128, 0u);
  EXPECT_EQ(upstream.allocations, 1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
  resource.deallocate(p, 8, 128);
  EXPECT_EQ(upstream.deallocations, 1);
}

// Zone::alignment() is at least 8: every block is 8-aligned, overflow blocks
// included, even in a zone created with alignment 1 and an odd block size.
TEST(ZoneResourceTest, EveryBlockIsEightAligned) {
  auto zone = MakeZone(
      {.name = "odd", .block_size = 13, .alignment = 1, .initial_blocks = 16, .max_blocks = 16});
  EXPECT_EQ(zone->alignment(), 8u);
  ZoneResource resource(*zone);
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) {  // 16 permanent blocks at most, then overflow
    blocks.push_back(resource.allocate(13, 8));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.back()) % 8, 0u);
    EXPECT_TRUE(zone->Owns(blocks.back()));
  }
  EXPECT_GE(zone->Stats().overflow_blocks_in_use, 24u);
  for (void* block : blocks) resource.deallocate(block, 13, 8);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneResourceTest, AFullZoneThrowsBadAllocAndDoesNotGoUpstream) {
  internal::ScopedPinToCurrentCpu pin;  // a migration could strand a cached block
  auto zone = MakeZone({.name = "capped",
                        .block_size = 16,
                        .initial_blocks = 16,
                        .max_blocks = 16,
                        .max_overflow_blocks = 1});
  CountingResource upstream;
  ZoneResource resource(*zone, &upstream);
  std::vector<void*> blocks;
  EXPECT_THROW(
      {
        for (int i = 0; i < 1000; ++i) blocks.push_back(resource.allocate(16, 8));
      },
      std::bad_alloc);
  EXPECT_EQ(blocks.size(), 17u) << "16 permanent blocks and 1 overflow block";
  EXPECT_EQ(upstream.allocations, 0);
  for (void* block : blocks) resource.deallocate(block, 16, 8);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneResourceTest, EqualOnlyOverTheSameZoneWithAnEqualUpstream) {
  auto zone = MakeZone({.name = "a", .block_size = 32});
  auto other_zone = MakeZone({.name = "b", .block_size = 32});
  CountingResource counting;
  ZoneResource resource(*zone, std::pmr::new_delete_resource());
  ZoneResource same(*zone, std::pmr::new_delete_resource());
  ZoneResource other_upstream(*zone, &counting);
  ZoneResource other_zone_resource(*other_zone, std::pmr::new_delete_resource());

  EXPECT_TRUE(resource.is_equal(resource));
  EXPECT_TRUE(resource.is_equal(same));
  EXPECT_TRUE(same.is_equal(resource));
  EXPECT_FALSE(resource.is_equal(other_upstream));
  EXPECT_FALSE(resource.is_equal(other_zone_resource));
  EXPECT_FALSE(resource.is_equal(*std::pmr::new_delete_resource()));

  // Equal resources free each other's memory: both kinds.
  void* block = resource.allocate(32, 8);
  void* big = resource.allocate(4096, 8);
  same.deallocate(block, 32, 8);
  same.deallocate(big, 4096, 8);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneResourceTest, DefaultUpstreamIsTheDefaultResource) {
  auto zone = MakeZone({.name = "default", .block_size = 32});
  ZoneResource resource(*zone);
  EXPECT_EQ(resource.upstream(), std::pmr::get_default_resource());
  EXPECT_EQ(&resource.zone(), zone.get());
}

// Millions of list nodes in all (a quarter under sanitizers): each thread
// fills pmr lists on one shared resource, and the next thread frees them.
TEST(ZoneResourceTest, ListsFilledOnOneThreadAreFreedOnAnother) {
  using internal::kRingNodesPerFill;
  using internal::kRingThreads;
  auto zone = MakeZone({.name = "ring", .block_size = 32, .initial_blocks = 1024});
  ZoneResource resource(*zone);
  std::vector<std::pmr::list<int64_t>> slots;
  for (int i = 0; i < 2 * kRingThreads; ++i) slots.emplace_back(&resource);

  internal::RunRingHandoff(
      kRingThreads, internal::kRingRounds, slots,
      [](int t, std::pmr::list<int64_t>& list) {
        for (size_t i = 0; i < kRingNodesPerFill; ++i) list.push_back(t);
      },
      [](int t, std::pmr::list<int64_t>& list) {
        const int64_t from = (t + 1) % kRingThreads;
        EXPECT_EQ(list.size(), kRingNodesPerFill);
        EXPECT_EQ(std::accumulate(list.begin(), list.end(), int64_t{0}),
                  from * static_cast<int64_t>(kRingNodesPerFill));
        list.clear();
      });

  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  // After the first round's barrier every thread's list was alive at once,
  // all in zone blocks: permanent, or overflow.
  EXPECT_GE(stats.capacity_blocks + stats.overflow_allocations, kRingThreads * kRingNodesPerFill);
}

}  // namespace
}  // namespace zonealloc
