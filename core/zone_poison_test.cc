// SPDX-License-Identifier: Apache-2.0
// AddressSanitizer builds of the library poison free blocks (see
// internal/checks.h): wherever a freed block waits, a read or write through
// the freed pointer is an ASan report. Registered in every CPU cache mode.
// The poisoning checks skip unless the library was configured with
// ZONEALLOC_SANITIZER=address; the round trips run in every build.

#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/concurrency/sanitizers.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

constexpr size_t kBlockSize = 64;
constexpr size_t kBlocks = 256;

// Whether any byte of the block is poisoned; false where nothing is.
bool AnyPoisoned(const void* block, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  return __asan_region_is_poisoned(const_cast<void*>(block), bytes) != nullptr;
#else
  static_cast<void>(block);
  static_cast<void>(bytes);
  return false;
#endif
}

// Whether every byte of the block is poisoned.
bool AllPoisoned(const void* block, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  for (size_t i = 0; i < bytes; ++i) {
    if (!__asan_address_is_poisoned(static_cast<const char*>(block) + i)) return false;
  }
  return true;
#else
  static_cast<void>(block);
  static_cast<void>(bytes);
  return false;
#endif
}

constexpr char kNotPoisoning[] = "free blocks are poisoned only in ASan builds";

// A zone of its own service, full after kBlocks blocks (no extension).
std::unique_ptr<Zone> MakeZone(std::unique_ptr<ZoneService>& service) {
  service = *ZoneService::Create({.name = "poison", .permanent_budget_bytes = uint64_t{1} << 30});
  absl::StatusOr<std::unique_ptr<Zone>> zone = service->CreateZone(
      {.name = "poison", .block_size = kBlockSize, .initial_blocks = kBlocks,
       .max_blocks = kBlocks});
  EXPECT_TRUE(zone.ok()) << zone.status();
  return *std::move(zone);
}

TEST(ZonePoisonTest, TheSwitchFollowsTheLibrarysConfigurationNotTheIncluder) {
  // This test is built with the library's own flags, so the two agree here;
  // config.h, not the compiler's own ASan macros, is what the headers read.
#if defined(ZONEALLOC_COMPILING_WITH_ASAN)
  EXPECT_TRUE(internal::kPoisonFreeBlocks);
#else
  EXPECT_FALSE(internal::kPoisonFreeBlocks);
#endif
  EXPECT_EQ(internal::kPoisonFreeBlocks, ZONEALLOC_CONFIG_ASAN != 0);
}

TEST(ZonePoisonTest, AFreedBlockIsPoisonedUntilHandedOutAgain) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  void* block = zone->Allocate();
  EXPECT_FALSE(AnyPoisoned(block, kBlockSize));
  zone->Free(block);  // into this CPU's cache, or the shared zone without caches
  EXPECT_TRUE(AllPoisoned(block, kBlockSize));
  zone->Drain();  // into the shared zone, in batches
  EXPECT_TRUE(AllPoisoned(block, kBlockSize));
  // Every block, handed out before or not, comes out unpoisoned and goes
  // back poisoned.
  std::set<void*> all = internal::TakeEveryFreeBlock(*zone);
  EXPECT_EQ(all.size(), kBlocks);
  for (void* p : all) EXPECT_FALSE(AnyPoisoned(p, kBlockSize)) << p;
  for (void* p : all) zone->Free(p);
  zone->Drain();
  for (void* p : all) EXPECT_TRUE(AllPoisoned(p, kBlockSize)) << p;
}

TEST(ZonePoisonTest, AFreedOverflowBlockIsPoisoned) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  std::set<void*> permanent = internal::TakeEveryFreeBlock(*zone);
  void* kept = zone->Allocate();  // overflow; keeps the slab mapped
  void* block = zone->Allocate();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(zone->Stats().overflow_blocks_in_use, 2u);
  EXPECT_FALSE(AnyPoisoned(block, kBlockSize));
  zone->Free(block);
  EXPECT_TRUE(AllPoisoned(block, kBlockSize));
  void* again = zone->Allocate();  // the slab's free list: the same block
  EXPECT_EQ(again, block);
  EXPECT_FALSE(AnyPoisoned(again, kBlockSize));
  zone->Free(again);
  zone->Free(kept);
  for (void* p : permanent) zone->Free(p);
}

TEST(ZonePoisonTest, WriteAfterFreeIsReported) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  auto* block = static_cast<volatile char*>(zone->Allocate());
  zone->Free(const_cast<char*>(block));
  EXPECT_DEATH(block[8] = 1, "AddressSanitizer: use-after-poison");
}

TEST(ZonePoisonTest, ReadAfterFreeIsReported) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  auto* block = static_cast<volatile char*>(zone->Allocate());
  zone->Free(const_cast<char*>(block));
  zone->Drain();
  EXPECT_DEATH(static_cast<void>(block[kBlockSize - 1]), "AddressSanitizer: use-after-poison");
}

TEST(ZonePoisonTest, WriteAfterFreeOfAnOverflowBlockIsReported) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  std::set<void*> permanent = internal::TakeEveryFreeBlock(*zone);
  void* kept = zone->Allocate();
  auto* block = static_cast<volatile char*>(zone->Allocate());
  zone->Free(const_cast<char*>(block));
  EXPECT_DEATH(block[0] = 1, "AddressSanitizer: use-after-poison");
  zone->Free(kept);
  for (void* p : permanent) zone->Free(p);
}

TEST(ZonePoisonTest, UnsynchronizedZoneReportsReadAndWriteAfterFree) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = UnsynchronizedZone::Create({.block_size = kBlockSize, .initial_blocks = 4});
  ASSERT_TRUE(zone.ok());
  auto* block = static_cast<volatile char*>((*zone)->Allocate());
  void* never_handed_out = static_cast<char*>(const_cast<char*>(block)) + kBlockSize;
  (*zone)->Free(const_cast<char*>(block));
  EXPECT_TRUE(AllPoisoned(const_cast<char*>(block), kBlockSize));
  EXPECT_FALSE(AnyPoisoned(never_handed_out, kBlockSize)) << "untouched blocks stay unpoisoned";
  EXPECT_DEATH(block[8] = 1, "AddressSanitizer: use-after-poison");
  EXPECT_DEATH(static_cast<void>(block[16]), "AddressSanitizer: use-after-poison");
  EXPECT_EQ((*zone)->Allocate(), const_cast<char*>(block));
  EXPECT_FALSE(AnyPoisoned(const_cast<char*>(block), kBlockSize));
}

// Every block handed out is entirely usable, however it travelled: through
// CPU caches, batches in the shared zone (whose lists live in free blocks),
// and overflow. Runs in every build.
TEST(ZonePoisonTest, BlocksHandedOutAreWholeAfterEveryPath) {
  std::unique_ptr<ZoneService> service;
  std::unique_ptr<Zone> zone = MakeZone(service);
  for (int round = 0; round < 3; ++round) {
    std::vector<void*> blocks;
    for (size_t i = 0; i < kBlocks + 40; ++i) {  // 40 from overflow
      void* block = zone->Allocate();
      ASSERT_NE(block, nullptr);
      std::memset(block, 0xA5, kBlockSize);
      blocks.push_back(block);
    }
    for (size_t i = 0; i < blocks.size(); i += 2) zone->Free(blocks[i]);
    std::vector<void*> rest;
    for (size_t i = 1; i < blocks.size(); i += 2) rest.push_back(blocks[i]);
    zone->FreeBulk(rest);
    if (round == 1) zone->Drain();
    std::vector<void*> bulk(kBlocks / 2);
    ASSERT_EQ(zone->AllocateBulk(bulk), bulk.size());
    for (void* block : bulk) std::memset(block, 0x5A, kBlockSize);
    zone->FreeBulk(bulk);
  }
}

TEST(ZonePoisonTest, ADestroyedZoneLeavesNoPoisonBehind) {
  if (!internal::kPoisonFreeBlocks) GTEST_SKIP() << kNotPoisoning;
  void* block;
  void* overflow_block;
  {
    std::unique_ptr<ZoneService> service;
    std::unique_ptr<Zone> zone = MakeZone(service);
    std::set<void*> permanent = internal::TakeEveryFreeBlock(*zone);
    void* kept = zone->Allocate();  // overflow; keeps the slab mapped
    overflow_block = zone->Allocate();
    zone->Free(overflow_block);
    EXPECT_TRUE(AllPoisoned(overflow_block, kBlockSize));
    for (void* p : permanent) zone->Free(p);
    block = *permanent.begin();
    EXPECT_TRUE(AllPoisoned(block, kBlockSize));
    static_cast<void>(kept);  // in use when the zone goes
  }
  // Their addresses may be mapped again, for anything.
  EXPECT_FALSE(AnyPoisoned(block, kBlockSize));
  EXPECT_FALSE(AnyPoisoned(overflow_block, kBlockSize));
}

}  // namespace
}  // namespace zonealloc
