// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include <zonealloc/internal/memcheck_hooks.h>
#include <zonealloc/testing/counting_page_source.h>
#include <zonealloc/testing/test_threads.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/page_source.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_sizing.h>

namespace zonealloc {
namespace {

// The single-thread contract that Zone and UnsynchronizedZone share.
template <typename ZoneType>
class ZoneContractTest : public ::testing::Test {
 protected:
  static std::unique_ptr<ZoneType> MakeZone(ZoneOptions options) {
    absl::StatusOr<std::unique_ptr<ZoneType>> zone = ZoneType::Create(options);
    EXPECT_TRUE(zone.ok()) << zone.status();
    return *std::move(zone);
  }
};
using ZoneTypes = ::testing::Types<Zone, UnsynchronizedZone>;
TYPED_TEST_SUITE(ZoneContractTest, ZoneTypes);

// Pages of this process resident now.
long ResidentPages() {
  long size = 0;
  long resident = 0;
  std::ifstream("/proc/self/statm") >> size >> resident;
  return resident;
}

// Creation touches no block, so a large zone is created at once and costs
// memory only as it is used.
TYPED_TEST(ZoneContractTest, CreatingALargeZoneTouchesNoBlock) {
  if constexpr (std::is_same_v<TypeParam, Zone> && internal::kPoisonFreeBlocks) {
    GTEST_SKIP() << "AddressSanitizer's shadow of a Zone's poisoned free blocks is touched";
  }
  auto service = *ZoneService::Create({.name = "big", .permanent_budget_bytes = 4ull << 30});
  // 1 GiB, and no room to extend: a Zone's default max_blocks would reserve
  // 64 GiB of address space, more than Valgrind lends.
  const ZoneOptions options = {
      .block_size = 64, .initial_blocks = size_t{16} << 20, .max_blocks = size_t{16} << 20};
  const long rss_before = ResidentPages();
  absl::StatusOr<std::unique_ptr<TypeParam>> zone;
  if constexpr (std::is_same_v<TypeParam, Zone>) {
    zone = service->CreateZone(options);
  } else {
    zone = UnsynchronizedZone::Create(options, *service);
  }
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_LT(ResidentPages() - rss_before, static_cast<long>((size_t{64} << 20) / PageSize()))
      << "less than 64 MiB touched";
  void* block = (*zone)->Allocate();
  EXPECT_NE(block, nullptr);
  (*zone)->Free(block);
  EXPECT_EQ(service->permanent_bytes(), (size_t{16} << 20) * (64 + 5));
}

TYPED_TEST(ZoneContractTest, HandsOutEveryBlockOnceThenReportsFull) {
  internal::ScopedPinToCurrentCpu pin;
  auto zone = this->MakeZone({.name = "conn", .block_size = 48, .initial_blocks = 64});
  std::set<void*> blocks;
  for (int i = 0; i < 64; ++i) {
    EXPECT_FALSE(zone->IsFull());
    void* block = zone->Allocate();
    ASSERT_NE(block, nullptr);
    EXPECT_TRUE(blocks.insert(block).second) << "block handed out twice";
    EXPECT_EQ(reinterpret_cast<uintptr_t>(block) % alignof(std::max_align_t), 0u);
    std::memset(block, 0xAB, zone->block_size());
  }
  EXPECT_TRUE(zone->IsFull());
  if constexpr (std::is_same_v<TypeParam, UnsynchronizedZone>) {
    EXPECT_EQ(zone->Allocate(), nullptr);
  } else {
    void* overflow = zone->Allocate();  // see zone_overflow_test.cc
    EXPECT_NE(overflow, nullptr);
    EXPECT_EQ(blocks.count(overflow), 0u);
    zone->Free(overflow);
  }

  zone->Free(*blocks.begin());
  EXPECT_FALSE(zone->IsFull());
  EXPECT_EQ(zone->Allocate(), *blocks.begin()) << "a freed block is reused";
  for (void* block : blocks) zone->Free(block);
}

TYPED_TEST(ZoneContractTest, StatsCountCapacityUseAndPeak) {
  auto zone = this->MakeZone({.name = "req", .block_size = 100, .initial_blocks = 10});
  std::vector<void*> blocks;
  for (int i = 0; i < 7; ++i) blocks.push_back(zone->Allocate());
  for (int i = 0; i < 4; ++i) {
    zone->Free(blocks.back());
    blocks.pop_back();
  }
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.name, "req");
  EXPECT_EQ(stats.block_size, 112u);
  EXPECT_EQ(stats.capacity_blocks, 10u);
  EXPECT_EQ(stats.in_use_blocks, 3u);
  EXPECT_EQ(stats.peak_in_use_blocks, 7u);
  for (void* block : blocks) zone->Free(block);
}

TYPED_TEST(ZoneContractTest, FreeOfNullptrDoesNothing) {
  auto zone = this->MakeZone({.block_size = 64, .initial_blocks = 8});
  void* block = zone->Allocate();
  zone->Free(nullptr);  // as free(NULL)
  EXPECT_EQ(zone->Stats().in_use_blocks, 1u);
  zone->Free(block);
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TYPED_TEST(ZoneContractTest, PeakIsTheMostBlocksInUseAtOnce) {
  auto zone = this->MakeZone({.block_size = 64, .initial_blocks = 4096});
  void* one = zone->Allocate();
  EXPECT_EQ(zone->Stats().peak_in_use_blocks, 1u) << "one block, not a refill's worth";
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(zone->Allocate());
  for (void* block : blocks) zone->Free(block);
  zone->Free(one);
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  EXPECT_LE(stats.peak_in_use_blocks, 1001u) << "never above the true peak";
  if (stats.cpu_caches.empty()) {
    EXPECT_EQ(stats.peak_in_use_blocks, 1001u) << "exact without caches";
  }
}

TYPED_TEST(ZoneContractTest, OwnsItsBlocksAndNothingElse) {
  auto zone = this->MakeZone({.block_size = 64, .initial_blocks = 4});
  auto other = this->MakeZone({.block_size = 64, .initial_blocks = 4});
  void* block = zone->Allocate();
  EXPECT_TRUE(zone->Owns(block));
  EXPECT_FALSE(other->Owns(block));
  EXPECT_FALSE(zone->Owns(static_cast<char*>(block) + 8)) << "inside a block, not its start";
  int on_stack = 0;
  EXPECT_FALSE(zone->Owns(&on_stack));
  EXPECT_FALSE(zone->Owns(nullptr));
  zone->Free(block);
}

TYPED_TEST(ZoneContractTest, HonoursLargeAlignment) {
  auto zone = this->MakeZone({.block_size = 100, .alignment = 256, .initial_blocks = 8});
  EXPECT_EQ(zone->block_size(), 256u);
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) {
    blocks.push_back(zone->Allocate());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.back()) % 256, 0u);
  }
  for (void* block : blocks) zone->Free(block);
}

TYPED_TEST(ZoneContractTest, UnsetInitialBlocksAreSizedFromTheMachine) {
  auto zone = this->MakeZone({.block_size = 64});
  EXPECT_EQ(zone->Stats().capacity_blocks, DefaultZoneBlocks(SystemProfile::Current(), 64));
}

TYPED_TEST(ZoneContractTest, BadOptionsAreInvalidArgument) {
  EXPECT_EQ(TypeParam::Create({.block_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TypeParam::Create({.block_size = 8, .alignment = 12}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(ZoneContractTest, OutOfMemoryAtCreationIsResourceExhausted) {
  internal::CountingPageSource pages;
  pages.FailNext(internal::PageCall::kCommit);
  EXPECT_EQ(TypeParam::Create({.block_size = 64, .initial_blocks = 16, .page_source = &pages})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TYPED_TEST(ZoneContractTest, DestroyingTheZoneReturnsItsMemory) {
  internal::CountingPageSource pages;
  this->MakeZone({.block_size = 64, .initial_blocks = 16, .page_source = &pages}).reset();
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}


TYPED_TEST(ZoneContractTest, FreeingAForeignPointerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = this->MakeZone({.name = "conn", .block_size = 64, .initial_blocks = 4});
  int on_stack = 0;
  EXPECT_DEATH(zone->Free(&on_stack), "zone 'conn': Free\\(.*\\) .*not");
}

TYPED_TEST(ZoneContractTest, FreeingAMisalignedPointerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = this->MakeZone({.name = "conn", .block_size = 64, .initial_blocks = 4});
  char* block = static_cast<char*>(zone->Allocate());
  EXPECT_DEATH(zone->Free(block + 16), "zone 'conn': Free\\(.*\\) is not the start of a");
  zone->Free(block);
}

TYPED_TEST(ZoneContractTest, DoubleFreeAbortsInDebugBuilds) {
  if (!internal::kDebugChecks) GTEST_SKIP() << "double-free detection is a debug-build check";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = this->MakeZone({.name = "conn", .block_size = 64, .initial_blocks = 4});
  void* block = zone->Allocate();
  zone->Free(block);
  EXPECT_DEATH(zone->Free(block), "zone 'conn': double free");
}

// Many threads (4x the CPUs) allocate and free with cross-thread frees: each
// thread hands half its blocks to a neighbour to free. Every block is stamped
// with its owner on allocation and checked on free.
TEST(ZoneConcurrencyTest, ManyThreadsWithCrossThreadFreesLoseNoBlock) {
  constexpr size_t kBlocks = 512;
  const int kThreads = internal::TestThreads(4);
  constexpr int kRounds = 3000;
  absl::StatusOr<std::unique_ptr<Zone>> zone =
      // max_blocks: from 8 CPUs (32 threads, up to 16 blocks each in hand
      // or in mailboxes) the zone can run full and overflow (handled
      // below); it must not extend past the kBlocks this test counts.
      Zone::Create({.name = "mt", .block_size = 64, .initial_blocks = kBlocks,
                    .max_blocks = kBlocks});
  ASSERT_TRUE(zone.ok());
  std::vector<std::atomic<int>> handed_out(kBlocks);  // by block index
  std::atomic<int> errors{0};
  // Per thread: a mailbox of blocks allocated by its left neighbour.
  struct Mailbox {
    std::atomic<void*> slots[8] = {};
  };
  std::vector<Mailbox> mailboxes(kThreads);
  char* const base = static_cast<char*>((*zone)->Allocate());
  (*zone)->Free(base);
  auto index_of = [&](void* p) {
    return static_cast<size_t>(static_cast<char*>(p) - base) / (*zone)->block_size();
  };
  auto release = [&](void* block, uint64_t expected_stamp) {
    uint64_t stamp;
    std::memcpy(&stamp, block, sizeof(stamp));
    if (stamp != expected_stamp) errors.fetch_add(1);
    if (handed_out[index_of(block)].exchange(0) != 1) errors.fetch_add(1);
    (*zone)->Free(block);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t my_stamp = 0x5A5A000000000000ull | static_cast<uint64_t>(t);
      Mailbox& next = mailboxes[(t + 1) % kThreads];
      Mailbox& mine = mailboxes[t];
      std::vector<void*> held;
      for (int round = 0; round < kRounds; ++round) {
        for (int k = 0; k < 8 && !(*zone)->IsFull(); ++k) {
          void* block = (*zone)->Allocate();
          if (!(*zone)->Owns(block) || index_of(block) >= kBlocks) {
            (*zone)->Free(block);  // raced into overflow; this test counts permanent blocks
            break;
          }
          if (handed_out[index_of(block)].exchange(1) != 0) errors.fetch_add(1);
          std::memcpy(block, &my_stamp, sizeof(my_stamp));
          held.push_back(block);
        }
        // Free the blocks the left neighbour left for us (its stamp).
        const uint64_t left_stamp =
            0x5A5A000000000000ull | static_cast<uint64_t>((t + kThreads - 1) % kThreads);
        for (auto& slot : mine.slots) {
          if (void* block = slot.exchange(nullptr)) release(block, left_stamp);
        }
        // Hand some to the right neighbour, free the rest ourselves.
        for (void* block : held) {
          void* expected = nullptr;
          bool handed = false;
          for (auto& slot : next.slots) {
            if (slot.compare_exchange_strong(expected, block)) {
              handed = true;
              break;
            }
            expected = nullptr;
          }
          if (!handed) release(block, my_stamp);
        }
        held.clear();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    const uint64_t stamp = 0x5A5A000000000000ull | static_cast<uint64_t>((t + kThreads - 1) % kThreads);
    for (auto& slot : mailboxes[t].slots) {
      if (void* block = slot.exchange(nullptr)) release(block, stamp);
    }
  }

  EXPECT_EQ(errors.load(), 0);
  const ZoneStats stats = (*zone)->Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  EXPECT_GT(stats.peak_in_use_blocks, 0u);
  // Every block is back: exactly kBlocks distinct blocks can be taken.
  const std::set<void*> all = internal::TakeEveryFreeBlock(**zone);
  EXPECT_EQ(all.size(), kBlocks);
  for (void* block : all) (*zone)->Free(block);
}

}  // namespace
}  // namespace zonealloc
