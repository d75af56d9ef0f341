// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_allocator.h>

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
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

using IntPair = std::pair<const int, int>;
using ZoneMap = std::map<int, int, std::less<int>, ZoneAllocator<IntPair>>;

TEST(ZoneAllocatorTest, MapNodesAreZoneBlocks) {
  auto zone = MakeZone({.name = "map", .block_size = NodeBlockSize<IntPair>()});
  {
    ZoneMap map{ZoneAllocator<IntPair>(*zone)};
    for (int i = 0; i < 10'000; ++i) {
      map.emplace(i, 2 * i);
      if (i % 1000 == 0) {
        ASSERT_EQ(zone->Stats().in_use_blocks, map.size());
      }
    }
    EXPECT_EQ(map.at(1234), 2468);
    map.erase(map.begin(), map.find(5000));
    EXPECT_EQ(zone->Stats().in_use_blocks, 5000u);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneAllocatorTest, ListNodesAreZoneBlocks) {
  auto zone = MakeZone({.name = "list", .block_size = NodeBlockSize<std::string>()});
  {
    std::list<std::string, ZoneAllocator<std::string>> list{ZoneAllocator<std::string>(*zone)};
    for (int i = 0; i < 1000; ++i) list.push_back(std::to_string(i));
    EXPECT_EQ(zone->Stats().in_use_blocks, 1000u);
    EXPECT_EQ(list.back(), "999");
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

// Nodes are zone blocks; the bucket arrays (n > 1) come from ::operator new.
TEST(ZoneAllocatorTest, UnorderedMapNodesAreZoneBlocks) {
  using Value = std::pair<const std::string, int64_t>;  // a hash node caches the hash
  auto zone = MakeZone({.name = "hash", .block_size = NodeBlockSize<Value>()});
  {
    std::unordered_map<std::string, int64_t, std::hash<std::string>, std::equal_to<std::string>,
                       ZoneAllocator<Value>>
        map{ZoneAllocator<Value>(*zone)};
    for (int i = 0; i < 10'000; ++i) map.emplace(std::to_string(i), i);
    EXPECT_GT(map.bucket_count(), 1u);
    EXPECT_EQ(zone->Stats().in_use_blocks, map.size());
    EXPECT_EQ(map.at("4321"), 4321);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

// An over-aligned value: a hash node pads before it and caches the hash
// after it, a tree node pads its links to the value's alignment.
TEST(ZoneAllocatorTest, NodeBlockSizeHoldsNodesOfOverAlignedValues) {
  struct alignas(32) Wide {
    int64_t lanes[4];
  };
  using Value = std::pair<const int, Wide>;
  auto zone = MakeZone({.name = "wide", .block_size = NodeBlockSize<Value>(), .alignment = 32});
  {
    std::unordered_map<int, Wide, std::hash<int>, std::equal_to<int>, ZoneAllocator<Value>> hash{
        ZoneAllocator<Value>(*zone)};
    std::map<int, Wide, std::less<int>, ZoneAllocator<Value>> tree{ZoneAllocator<Value>(*zone)};
    for (int i = 0; i < 1000; ++i) {
      hash.emplace(i, Wide{{i}});
      tree.emplace(i, Wide{{i}});
    }
    EXPECT_EQ(zone->Stats().in_use_blocks, hash.size() + tree.size());
    EXPECT_EQ(hash.at(7).lanes[0], 7);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

// Nodes too big for the zone's blocks, or (NodeBlockSize's claim) of an
// over-aligned value, come from ::operator new, and the container works.
TEST(ZoneAllocatorTest, NodesThatDoNotFitComeFromOperatorNew) {
  auto zone = MakeZone({.name = "too-small", .block_size = sizeof(IntPair)});
  {
    ZoneMap map{ZoneAllocator<IntPair>(*zone)};
    for (int i = 0; i < 1000; ++i) map.emplace(i, i);
    EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
    EXPECT_EQ(map.at(999), 999);
  }
  struct alignas(32) Wide {
    int64_t v;
  };
  using WidePair = std::pair<const int, Wide>;
  auto big = MakeZone({.name = "big", .block_size = 4 * NodeBlockSize<WidePair>()});
  {
    std::map<int, Wide, std::less<int>, ZoneAllocator<WidePair>> map{
        ZoneAllocator<WidePair>(*big)};
    for (int i = 0; i < 100; ++i) map.emplace(i, Wide{i});
    EXPECT_EQ(big->Stats().in_use_blocks, 0u);
    EXPECT_EQ(map.at(42).v, 42);
  }
}

TEST(ZoneAllocatorTest, ServedByZoneSaysWhereAllocateGoes) {
  auto zone = MakeZone({.name = "route", .block_size = 32});
  ZoneAllocator<std::array<char, 32>> fits(*zone);
  EXPECT_TRUE(fits.ServedByZone(1));
  EXPECT_FALSE(fits.ServedByZone(2));
  ZoneAllocator<std::array<char, 33>> too_big(*zone);
  EXPECT_FALSE(too_big.ServedByZone(1));
  struct alignas(32) Aligned {  // more than the zone's default 16
    char c;
  };
  EXPECT_EQ(zone->alignment(), alignof(std::max_align_t));
  EXPECT_FALSE(ZoneAllocator<Aligned>(*zone).ServedByZone(1));

  std::array<char, 32>* one = fits.allocate(1);
  EXPECT_TRUE(zone->Owns(one));
  std::array<char, 32>* two = fits.allocate(2);
  EXPECT_FALSE(zone->Owns(two));
  EXPECT_EQ(zone->Stats().in_use_blocks, 1u);
  fits.deallocate(two, 2);
  fits.deallocate(one, 1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneAllocatorTest, RebindingKeepsTheZoneAndCopiesFreeEachOthersBlocks) {
  auto zone = MakeZone({.name = "rebind", .block_size = 64});
  auto other = MakeZone({.name = "other", .block_size = 64});
  ZoneAllocator<int> ints(*zone);
  ZoneAllocator<double> doubles(ints);
  EXPECT_EQ(&doubles.zone(), zone.get());
  EXPECT_TRUE(ints == doubles);
  EXPECT_TRUE(ZoneAllocator<int>(doubles) == ints);
  EXPECT_FALSE(ints == ZoneAllocator<int>(*other));
  EXPECT_TRUE(ints != ZoneAllocator<double>(*other));

  // Allocated through one, freed through a copy rebound there and back.
  ZoneAllocator<std::array<char, 48>> nodes(ints);
  std::array<char, 48>* node = nodes.allocate(1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 1u);
  ZoneAllocator<std::array<char, 48>> back(ZoneAllocator<char>{nodes});
  back.deallocate(node, 1);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

// propagate_on_container_*: the allocator follows the nodes.
TEST(ZoneAllocatorTest, AssignmentAndSwapCarryTheZoneWithTheNodes) {
  auto a = MakeZone({.name = "a", .block_size = NodeBlockSize<IntPair>()});
  auto b = MakeZone({.name = "b", .block_size = NodeBlockSize<IntPair>()});
  ZoneMap on_a{ZoneAllocator<IntPair>(*a)};
  ZoneMap on_b{ZoneAllocator<IntPair>(*b)};
  for (int i = 0; i < 100; ++i) on_a.emplace(i, i);
  on_b.emplace(1, 1);

  on_b.swap(on_a);  // O(1): the nodes stay, and so do their zones
  EXPECT_EQ(&on_b.get_allocator().zone(), a.get());
  EXPECT_EQ(on_b.size(), 100u);
  EXPECT_EQ(a->Stats().in_use_blocks, 100u);
  EXPECT_EQ(b->Stats().in_use_blocks, 1u);

  on_a = std::move(on_b);  // frees b's node, takes a's nodes and zone
  EXPECT_EQ(&on_a.get_allocator().zone(), a.get());
  EXPECT_EQ(b->Stats().in_use_blocks, 0u);
  EXPECT_EQ(a->Stats().in_use_blocks, 100u);

  ZoneMap copy{ZoneAllocator<IntPair>(*b)};
  copy.emplace(7, 7);
  copy = on_a;  // the copy's nodes come from on_a's zone
  EXPECT_EQ(&copy.get_allocator().zone(), a.get());
  EXPECT_EQ(a->Stats().in_use_blocks, 200u);
  EXPECT_EQ(b->Stats().in_use_blocks, 0u);
}

TEST(ZoneAllocatorTest, AFullZoneThrowsBadAlloc) {
  internal::ScopedPinToCurrentCpu pin;  // a migration could strand a cached block
  auto zone = MakeZone({.name = "capped",
                        .block_size = NodeBlockSize<IntPair>(),
                        .initial_blocks = 16,
                        .max_blocks = 16,
                        .max_overflow_blocks = 1});
  ZoneMap map{ZoneAllocator<IntPair>(*zone)};
  EXPECT_THROW(
      {
        for (int i = 0; i < 1000; ++i) map.emplace(i, i);
      },
      std::bad_alloc);
  EXPECT_EQ(map.size(), 17u) << "16 permanent blocks and 1 overflow block";
  EXPECT_EQ(zone->Stats().in_use_blocks, map.size());
}

// Millions of map nodes in all (a quarter under sanitizers): each thread fills
// maps on one shared zone, and the next thread frees them.
TEST(ZoneAllocatorTest, MapsFilledOnOneThreadAreFreedOnAnother) {
  using internal::kRingNodesPerFill;
  using internal::kRingThreads;
  auto zone =
      MakeZone({.name = "ring", .block_size = NodeBlockSize<IntPair>(), .initial_blocks = 1024});
  std::vector<ZoneMap> slots;
  for (int i = 0; i < 2 * kRingThreads; ++i) slots.emplace_back(ZoneAllocator<IntPair>(*zone));

  internal::RunRingHandoff(
      kRingThreads, internal::kRingRounds, slots,
      [](int t, ZoneMap& map) {
        for (size_t i = 0; i < kRingNodesPerFill; ++i) map.emplace_hint(map.end(), static_cast<int>(i), t);
      },
      [](int t, ZoneMap& map) {
        const int from = (t + 1) % kRingThreads;
        EXPECT_EQ(map.size(), kRingNodesPerFill);
        EXPECT_EQ(map.begin()->second, from);
        EXPECT_EQ(map.rbegin()->second, from);
        map.clear();
      });

  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  // After the first round's barrier every thread's map was alive at once.
  EXPECT_GE(stats.capacity_blocks + stats.overflow_allocations, kRingThreads * kRingNodesPerFill);
}

// The same with lists spliced from one thread's list into another's.
TEST(ZoneAllocatorTest, ListsSplicedAcrossThreadsAreFreedThere) {
  using internal::kRingNodesPerFill;
  using internal::kRingThreads;
  using ZoneList = std::list<int64_t, ZoneAllocator<int64_t>>;
  auto zone =
      MakeZone({.name = "splice", .block_size = NodeBlockSize<int64_t>(), .initial_blocks = 1024});
  std::vector<ZoneList> slots;
  for (int i = 0; i < 2 * kRingThreads; ++i) slots.emplace_back(ZoneAllocator<int64_t>(*zone));
  std::vector<ZoneList> kept;  // one per thread, grows by splicing
  for (int i = 0; i < kRingThreads; ++i) kept.emplace_back(ZoneAllocator<int64_t>(*zone));

  internal::RunRingHandoff(
      kRingThreads, internal::kRingRounds, slots,
      [](int t, ZoneList& list) {
        for (size_t i = 0; i < kRingNodesPerFill; ++i) list.push_back(t);
      },
      [&kept](int t, ZoneList& list) {
        kept[t].splice(kept[t].end(), list);  // equal allocators: O(1)
        kept[t].resize(kRingNodesPerFill / 2);
      });

  EXPECT_EQ(zone->Stats().in_use_blocks, kRingThreads * kRingNodesPerFill / 2);
  for (ZoneList& list : kept) list.clear();
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

}  // namespace
}  // namespace zonealloc
