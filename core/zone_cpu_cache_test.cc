// SPDX-License-Identifier: Apache-2.0
// The per-CPU cache front end of Zone. ctest runs this binary once per mode
// (ZONEALLOC_CPU_CACHE=rseq|fallback|off); tests about caches skip "off".

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/testing/counting_page_source.h>
#include <zonealloc/testing/scoped_env.h>
#include <zonealloc/internal/env.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

std::string ModeUnderTest() {
  const char* mode = std::getenv("ZONEALLOC_CPU_CACHE");
  return mode != nullptr ? mode : "";
}

// The CPUs this process may run on.
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0) << std::strerror(errno);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// Runs `body` on a thread pinned to `cpu`.
template <typename Body>
void RunOnCpu(int cpu, Body body) {
  std::thread thread([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    EXPECT_EQ(sched_setaffinity(0, sizeof(set), &set), 0)
        << "cpu " << cpu << ": " << std::strerror(errno);
    body();
  });
  thread.join();
}

// Undoes glibc's rseq registration of the calling thread, leaving it as a
// failed registration would: the kernel sets cpu_id past every CPU. 0, or
// the errno of the refusal.
int UnregisterRseq() {
#if defined(ZONEALLOC_HAVE_GLIBC_RSEQ)
  // The kernel wants the length glibc registered: __rseq_size, or the whole
  // 32-byte area where glibc says less (2.40 and later).
  for (const unsigned int length : {static_cast<unsigned int>(__rseq_size), 32u}) {
    if (syscall(SYS_rseq, CurrentRseqArea(), length, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0) {
      return 0;
    }
  }
  return errno;
#else
  return ENOSYS;
#endif
}

class ZoneCpuCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<Zone> MakeZone(ZoneOptions options) {
    service_ = *ZoneService::Create({.name = "test", .permanent_budget_bytes = 1 << 30});
    absl::StatusOr<std::unique_ptr<Zone>> zone = service_->CreateZone(options);
    EXPECT_TRUE(zone.ok()) << zone.status();
    return *std::move(zone);
  }
  bool CachesOn() const { return ModeUnderTest() != "off"; }
  // A zone with caches in every mode but "off", however many CPUs run the
  // test: the default depth is a share of initial_blocks per CPU, which
  // leaves 256 blocks no cache past 16 CPUs.
  static ZoneOptions CachedOptions() {
    return {.block_size = 64, .initial_blocks = 256, .cpu_cache_blocks = 16};
  }
  // Caches of 16 blocks, and room in the bound on all caches for one CPU's
  // to deepen past 300 blocks while every other possible CPU keeps its 16
  // (machines report hundreds).
  static ZoneOptions DeepenableOptions() {
    return {.block_size = 64,
            .initial_blocks = 4096 + 32 * static_cast<size_t>(PerCpuCache::PossibleCpus()),
            .cpu_cache_blocks = 16,
            .cpu_cache_max_blocks = 512};
  }

  std::unique_ptr<ZoneService> service_;
};

TEST_F(ZoneCpuCacheTest, TheModeFollowsZonealloc_Cpu_Cache) {
  auto zone = MakeZone(CachedOptions());
  if (ModeUnderTest().empty()) GTEST_SKIP() << "run through ctest to pick a mode";
  EXPECT_EQ(CpuCacheModeName(zone->cpu_cache_mode()), ModeUnderTest());
  EXPECT_EQ(zone->Stats().cpu_cache_mode, ModeUnderTest());
  EXPECT_EQ(zone->Stats().cpu_caches.empty(), !CachesOn());
  zone.reset();
}

TEST_F(ZoneCpuCacheTest, RseqWhereUnsupportedIsFailedPrecondition) {
  service_ = *ZoneService::Create({.name = "test", .permanent_budget_bytes = 1 << 30});
  auto zone = service_->CreateZone(
      {.name = "r", .block_size = 64, .initial_blocks = 256, .cpu_cache = CpuCacheMode::kRseq});
  if (RseqSupport().ok()) {
    EXPECT_TRUE(zone.ok());
  } else {
    EXPECT_EQ(zone.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(zone.status().message().find("rseq"), std::string_view::npos);
  }
}

// Through ZONEALLOC_CPU_CACHE as through the option; a debug-checked zone,
// which has no caches, is not refused. Runs where rseq is unsupported:
// ctest's "no_glibc_rseq." run, and ThreadSanitizer builds.
TEST_F(ZoneCpuCacheTest, RseqFromTheEnvironmentWhereUnsupportedIsFailedPrecondition) {
  if (RseqSupport().ok()) GTEST_SKIP() << "rseq is supported here";
  service_ = *ZoneService::Create({.name = "test", .permanent_budget_bytes = 1 << 30});
  internal::ScopedEnv mode("ZONEALLOC_CPU_CACHE", "rseq");
  auto from_environment = service_->CreateZone(CachedOptions());
  ZoneOptions checked_options = CachedOptions();
  checked_options.debug_checks = true;
  auto checked = service_->CreateZone(checked_options);
  EXPECT_EQ(from_environment.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ((*checked)->cpu_cache_mode(), CpuCacheMode::kOff);
}

// An UnsynchronizedZone has no caches: no cache mode, from the options or
// the environment, keeps one from being made, where rseq is missing too.
TEST_F(ZoneCpuCacheTest, AnUnsynchronizedZoneIgnoresTheCacheMode) {
  service_ = *ZoneService::Create({.name = "test", .permanent_budget_bytes = 1 << 30});
  internal::ScopedEnv mode("ZONEALLOC_CPU_CACHE", "rseq");
  ZoneOptions options = CachedOptions();
  options.cpu_cache = CpuCacheMode::kRseq;
  auto zone = UnsynchronizedZone::Create(options, *service_);
  ASSERT_TRUE(zone.ok()) << zone.status();
  void* block = (*zone)->Allocate();
  EXPECT_NE(block, nullptr);
  (*zone)->Free(block);
}

// ctest also runs this binary with GLIBC_TUNABLES=glibc.pthread.rseq=0
// ("no_glibc_rseq."), where glibc registers no rseq area: the default then
// falls back by itself.
TEST_F(ZoneCpuCacheTest, TheDefaultIsRseqWhereSupportedElseTheFallback) {
  std::unique_ptr<Zone> zone;
  {
    internal::ScopedEnv unset("ZONEALLOC_CPU_CACHE", nullptr);
    zone = MakeZone(CachedOptions());
  }
  EXPECT_EQ(zone->cpu_cache_mode(),
            RseqSupport().ok() ? CpuCacheMode::kRseq : CpuCacheMode::kFallback)
      << RseqSupport().message();
  if (const char* tunables = std::getenv("GLIBC_TUNABLES");
      tunables != nullptr && std::string(tunables) == "glibc.pthread.rseq=0") {
    EXPECT_FALSE(RseqSupport().ok());
    EXPECT_EQ(zone->cpu_cache_mode(), CpuCacheMode::kFallback);
  }
}

// A bad value is ignored with a warning (internal/env.h): the zone gets the
// mode it would get with the variable unset.
TEST_F(ZoneCpuCacheTest, ABadModeInTheEnvironmentIsIgnoredWithAWarning) {
  CpuCacheMode unset;
  {
    internal::ScopedEnv none("ZONEALLOC_CPU_CACHE", nullptr);
    unset = MakeZone(CachedOptions())->cpu_cache_mode();
  }
  std::unique_ptr<Zone> zone;
  std::string warning;
  {
    internal::ScopedEnv bad("ZONEALLOC_CPU_CACHE", "turbo");
    ::testing::internal::CaptureStderr();
    zone = MakeZone(CachedOptions());
    warning = ::testing::internal::GetCapturedStderr();
  }
  EXPECT_EQ(zone->cpu_cache_mode(), unset);
  EXPECT_NE(warning.find("ignoring ZONEALLOC_CPU_CACHE=\"turbo\""), std::string::npos) << warning;
  zone.reset();
}

TEST_F(ZoneCpuCacheTest, FailingToMapTheCachesIsResourceExhaustedAndLeavesNothing) {
  if (!CachesOn()) GTEST_SKIP() << "no caches to map";
  internal::CountingPageSource pages;
  pages.FailNext(internal::PageCall::kMap);
  service_ = *ZoneService::Create({.name = "test", .permanent_budget_bytes = 1 << 30});
  ZoneOptions options = CachedOptions();
  options.page_source = &pages;
  auto zone = service_->CreateZone(options);
  EXPECT_EQ(zone.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
  EXPECT_EQ(service_->permanent_bytes(), 0u) << "the initial segment's charge is refunded";
}

// A thread without rseq (its registration failed) still allocates and
// frees through a zone in rseq mode: every critical section misses, and the
// misses count on the CPU the thread runs on.
TEST_F(ZoneCpuCacheTest, AThreadWithoutRseqMissesOnTheCpuItRunsOn) {
  if (ModeUnderTest() != "rseq") GTEST_SKIP() << "rseq mode only";
  auto zone = MakeZone(DeepenableOptions());
  ASSERT_EQ(zone->cpu_cache_mode(), CpuCacheMode::kRseq);
  const int cpu = AllowedCpus().back();
  int unregister_error = 0;
  RunOnCpu(cpu, [&] {
    unregister_error = UnregisterRseq();
    if (unregister_error != 0) return;
    std::vector<void*> blocks;
    for (int i = 0; i < 40; ++i) blocks.push_back(zone->Allocate());
    for (void* block : blocks) {
      EXPECT_NE(block, nullptr);
      zone->Free(block);
    }
  });
  if (unregister_error != 0) {
    // A glibc that registers another length than those tried, say.
    GTEST_SKIP() << "cannot undo this thread's rseq registration: "
                 << std::strerror(unregister_error);
  }
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.cpu_caches[cpu].misses, 40u) << "no block was cached";
  EXPECT_EQ(stats.cpu_caches[cpu].blocks, 0u);
  EXPECT_EQ(stats.cpu_caches[cpu].capacity, 16u) << "a cache it cannot fill does not deepen";
  EXPECT_EQ(stats.cpu_caches[cpu].flushes, 0u) << "nor flush";
  if (cpu != 0) {
    EXPECT_EQ(stats.cpu_caches[0].misses, 0u);
  }
  EXPECT_EQ(stats.in_use_blocks, 0u);
}

TEST_F(ZoneCpuCacheTest, ZeroCacheBlocksTurnsTheCachesOff) {
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 256, .cpu_cache_blocks = 0});
  EXPECT_EQ(zone->cpu_cache_mode(), CpuCacheMode::kOff);
  EXPECT_TRUE(zone->Stats().cpu_caches.empty());
  EXPECT_EQ(zone->Stats().cpu_cache_bound_blocks, 0u);
}

TEST_F(ZoneCpuCacheTest, DrainMakesTheAccountingExact) {
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 256});
  std::vector<void*> blocks(100);
  for (void*& block : blocks) block = zone->Allocate();
  for (size_t i = 0; i < 60; ++i) zone->Free(blocks[i]);
  zone->Drain();
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.cached_blocks, 0u);
  EXPECT_EQ(stats.in_use_blocks, 40u);
  for (size_t i = 60; i < blocks.size(); ++i) zone->Free(blocks[i]);
  zone->Drain();
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST_F(ZoneCpuCacheTest, BulkCallsMoveManyBlocksThroughEveryLayer) {
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 256});
  std::vector<void*> blocks(1000);  // past the zone: overflow and extension
  ASSERT_EQ(zone->AllocateBulk(blocks), blocks.size());
  EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());
  for (void* block : blocks) EXPECT_TRUE(zone->Owns(block));
  EXPECT_GT(zone->Stats().extensions, 0u);
  zone->FreeBulk(blocks);
  zone->Drain();
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  EXPECT_EQ(stats.overflow_slabs_live, 0u);
}

// Batches list their blocks inside a few of them; how many fit depends on
// the block size, down to one index per 8-byte block.
TEST_F(ZoneCpuCacheTest, BatchesRoundTripThroughTheSharedZoneAtEveryBlockSize) {
  for (size_t block_size : {8, 16, 24, 64, 256, 1024}) {
    SCOPED_TRACE(block_size);
    auto zone = MakeZone({.block_size = block_size, .initial_blocks = 2048,
                          .cpu_cache_blocks = 64, .cpu_cache_batch_blocks = 48});
    for (int round = 0; round < 3; ++round) {
      std::vector<void*> blocks(1500);
      for (void*& block : blocks) block = zone->Allocate();
      EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());
      for (void* block : blocks) std::memset(block, 0xEE, zone->block_size());
      for (void* block : blocks) zone->Free(block);
    }
    const std::set<void*> all = internal::TakeEveryFreeBlock(*zone);
    EXPECT_EQ(all.size(), 2048u) << "every block comes back exactly once";
    for (void* block : all) zone->Free(block);
    EXPECT_EQ(zone->Stats().extensions, 0u);
  }
}

TEST_F(ZoneCpuCacheTest, BulkAllocationStopsAtTheCaps) {
  auto zone = MakeZone(
      {.block_size = 64, .initial_blocks = 64, .max_blocks = 64, .max_overflow_blocks = 10});
  std::vector<void*> blocks(100);
  const size_t got = zone->AllocateBulk(blocks);
  EXPECT_EQ(got, 74u);
  zone->FreeBulk(std::span<void* const>(blocks.data(), got));
}

TEST_F(ZoneCpuCacheTest, FreeBulkSkipsNullptrEntries) {
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 256});
  std::vector<void*> blocks(10);
  ASSERT_EQ(zone->AllocateBulk(blocks), 10u);
  blocks.insert(blocks.begin() + 3, nullptr);
  blocks.push_back(nullptr);
  zone->FreeBulk(blocks);
  zone->Drain();
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

// Exact counts on a scripted run: a refill moves a whole batch in, and the
// calls the cache serves in between count nothing.
TEST_F(ZoneCpuCacheTest, MissesAndRefillsAreExactOnAScriptedRun) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 1024, .cpu_cache_blocks = 16,
                        .cpu_cache_batch_blocks = 8});
  const int cpu = AllowedCpus().front();
  RunOnCpu(cpu, [&] {
    std::vector<void*> blocks;
    // 1 miss (refill of 8: 1 handed out, 7 cached), 7 from the cache, a miss.
    for (int i = 0; i < 9; ++i) blocks.push_back(zone->Allocate());
    // 9 frees into the cache (16 slots, 7 cached after the second refill).
    for (void* block : blocks) zone->Free(block);
  });
  const CpuCacheStats stats = zone->Stats().cpu_caches[cpu];
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.refills, 2u);
  EXPECT_EQ(stats.flushes, 0u);
  EXPECT_EQ(stats.blocks, 7u + 9u);
  EXPECT_EQ(stats.batch_moves, 2u) << "one critical section per refill, not one per block";
}

// A refill's blocks leave the cache in the order the shared zone gave them:
// a new zone's in ascending addresses, across batches, so a burst over cold
// memory is one stream that the hardware prefetcher follows.
TEST_F(ZoneCpuCacheTest, ANewZonesBlocksComeOutInAddressOrder) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 1024, .cpu_cache_blocks = 16,
                        .cpu_cache_batch_blocks = 8});
  std::vector<char*> blocks;
  RunOnCpu(AllowedCpus().front(), [&] {
    for (int i = 0; i < 40; ++i) blocks.push_back(static_cast<char*>(zone->Allocate()));
  });
  for (size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i] - blocks[i - 1], 64) << "block " << i;
  }
  for (char* block : blocks) zone->Free(block);
}

// Adaptive depth: a CPU that keeps missing and flushing gets a deeper cache,
// up to cpu_cache_max_blocks, and moves fewer batches; Drain() puts it back.
TEST_F(ZoneCpuCacheTest, ABusyCpusCacheDeepensAndADrainPutsItBack) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  // Big enough that the bound on all caches leaves this CPU 512 blocks
  // while every other possible CPU keeps its 16 (machines report hundreds).
  const size_t initial_blocks = 4096 + 32 * static_cast<size_t>(PerCpuCache::PossibleCpus());
  auto zone = MakeZone({.block_size = 64, .initial_blocks = initial_blocks,
                        .cpu_cache_blocks = 16, .cpu_cache_max_blocks = 512});
  const int cpu = AllowedCpus().front();
  uint64_t first_round_flushes = 0;
  RunOnCpu(cpu, [&] {
    for (int round = 0; round < 20; ++round) {
      std::vector<void*> blocks(400);
      for (void*& block : blocks) block = zone->Allocate();
      for (void* block : blocks) zone->Free(block);
      if (round == 0) first_round_flushes = zone->Stats().cpu_caches[cpu].flushes;
    }
  });
  const CpuCacheStats stats = zone->Stats().cpu_caches[cpu];
  EXPECT_GE(stats.capacity, 400u) << "deep enough for the working set";
  EXPECT_LE(stats.capacity, 512u);
  EXPECT_EQ(stats.flushes, first_round_flushes) << "no flush once it is deep enough";
  zone->Drain();
  EXPECT_EQ(zone->Stats().cpu_caches[cpu].capacity, 16u);
}

// On a thread pinned to `cpu`: frees 300 blocks into the cache, which
// deepens for them, then allocates until it is empty, and returns what it
// allocated.
std::vector<void*> DeepenThenEmpty(Zone& zone, int cpu) {
  std::vector<void*> blocks(300);
  for (void*& block : blocks) block = zone.Allocate();
  for (void* block : blocks) zone.Free(block);
  blocks.clear();
  while (zone.Stats().cpu_caches[cpu].blocks > 0) blocks.push_back(zone.Allocate());
  return blocks;
}

// Slow-path events on `cpu`, three, a scan period apart: the first idle
// scan notes every other CPU's activity, the second finds the idle ones and
// drains them. 600 blocks are more than a cache in these tests may hold, so
// each round misses.
void MissOnCpuThroughTwoIdleScans(Zone& zone, int cpu) {
  for (int round = 0; round < 3; ++round) {
    if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    RunOnCpu(cpu, [&] {
      std::vector<void*> blocks(600);
      for (void*& block : blocks) block = zone.Allocate();
      for (void* block : blocks) zone.Free(block);
    });
  }
}

// A thread that deepened its CPU's cache and then took every block back
// out leaves it empty but deep; Drain() still puts it back, returning its
// share of the bound on all caches.
TEST_F(ZoneCpuCacheTest, DrainPutsAnEmptyDeepCacheBackToItsInitialDepth) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  auto zone = MakeZone(DeepenableOptions());
  const int cpu = AllowedCpus().front();
  RunOnCpu(cpu, [&] {
    std::vector<void*> blocks = DeepenThenEmpty(*zone, cpu);
    ASSERT_GT(zone->Stats().cpu_caches[cpu].capacity, 16u);
    zone->Drain();
    EXPECT_EQ(zone->Stats().cpu_caches[cpu].capacity, 16u);
    zone->FreeBulk(blocks);
  });
}

// The bound on all caches together follows the zone as it extends: all of
// it but a batch per CPU (at least half of it), so a working set that
// outgrew the first size still runs from its CPU's cache, and with nothing
// in use the shared zone still has a refill for every CPU.
TEST_F(ZoneCpuCacheTest, AnExtendedZonesCachesMayHoldAllButABatchPerCpu) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 64, .extension_blocks = 1024,
                        .cpu_cache_blocks = 8, .cpu_cache_batch_blocks = 4});
  const uint64_t cpus = PerCpuCache::PossibleCpus();
  const auto all_but_a_batch_per_cpu = [cpus](uint64_t capacity) {
    return capacity > 4 * cpus ? capacity - 4 * cpus : 0;
  };
  const uint64_t first_bound = std::max({8 * cpus, uint64_t{64} / 2, all_but_a_batch_per_cpu(64)});
  EXPECT_EQ(zone->Stats().cpu_cache_bound_blocks, first_bound);
  const int cpu = AllowedCpus().front();
  // Enough that the extended zone's bound beats the first even when every
  // other possible CPU keeps its initial 8 (machines report hundreds).
  const size_t working_set = 3000 + 64 * static_cast<size_t>(PerCpuCache::PossibleCpus());
  RunOnCpu(cpu, [&] {
    std::vector<void*> blocks(working_set);
    for (void*& block : blocks) block = zone->Allocate();
    for (void* block : blocks) zone->Free(block);
  });
  const ZoneStats stats = zone->Stats();
  ASSERT_GT(stats.extensions, 0u);
  EXPECT_EQ(stats.cpu_cache_bound_blocks,
            std::max({first_bound, stats.capacity_blocks / 2,
                      all_but_a_batch_per_cpu(stats.capacity_blocks)}));
  EXPECT_GT(stats.cpu_caches[cpu].capacity, first_bound) << "deeper than the first bound";
  EXPECT_LE(stats.cpu_caches[cpu].capacity, stats.cpu_cache_bound_blocks);
  EXPECT_GT(stats.cached_blocks, stats.capacity_blocks / 2)
      << "more than half the zone in one CPU's cache";
  zone->Drain();  // the whole deep cache comes back
  const ZoneStats drained = zone->Stats();
  EXPECT_EQ(drained.cpu_cache_bound_blocks, stats.cpu_cache_bound_blocks)
      << "a drain shrinks the caches, not the bound";
  EXPECT_EQ(drained.cached_blocks, 0u);
  EXPECT_EQ(drained.in_use_blocks, 0u);
  const std::set<void*> all = internal::TakeEveryFreeBlock(*zone);
  EXPECT_EQ(all.size(), drained.capacity_blocks) << "every block once";
  for (void* block : all) zone->Free(block);
}

TEST_F(ZoneCpuCacheTest, CountersShowMissesRefillsAndFlushes) {
  if (!CachesOn()) GTEST_SKIP() << "no caches";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 1024, .cpu_cache_blocks = 16,
                        .cpu_cache_max_blocks = 16});  // fixed depth: every 16th free flushes
  const int cpu = AllowedCpus().front();
  RunOnCpu(cpu, [&] {
    std::vector<void*> blocks(100);
    for (void*& block : blocks) block = zone->Allocate();  // misses and refills
    for (void* block : blocks) zone->Free(block);          // flushes
  });
  const CpuCacheStats stats = zone->Stats().cpu_caches[cpu];
  EXPECT_GE(stats.misses, 100u / 16);
  EXPECT_GE(stats.refills, 100u / 16);
  EXPECT_GE(stats.flushes, 100u / 16);
  EXPECT_EQ(stats.batch_moves, stats.refills + stats.flushes)
      << "one critical section per refill and per flush";
}

TEST_F(ZoneCpuCacheTest, IsFullOnlyWhenThisCpusCacheAndTheSharedZoneAreEmpty) {
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 64, .cpu_cache_blocks = 16});
  RunOnCpu(AllowedCpus().front(), [&] {
    std::vector<void*> blocks;
    while (!zone->IsFull()) blocks.push_back(zone->Allocate());
    EXPECT_EQ(blocks.size(), 64u) << "every block, cached ones included";
    zone->Free(blocks.back());  // into this CPU's cache, or the shared zone
    EXPECT_FALSE(zone->IsFull());
    blocks.pop_back();
    for (void* block : blocks) zone->Free(block);
  });
}

// Free blocks in other CPUs' caches, a batch or more in all, are found
// before the zone overflows ("Full-zone path" in zone.h).
TEST_F(ZoneCpuCacheTest, ABatchOfCachedBlocksIsDrainedBeforeOverflow) {
  const std::vector<int> cpus = AllowedCpus();
  if (!CachesOn() || cpus.size() < 2) GTEST_SKIP() << "needs caches and two CPUs";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 64, .cpu_cache_blocks = 32});
  std::vector<void*> blocks;
  RunOnCpu(cpus[0], [&] {
    for (int i = 0; i < 64; ++i) blocks.push_back(zone->Allocate());
    for (int i = 0; i < 20; ++i) zone->Free(blocks[i]);  // into CPU 0's cache
  });
  ASSERT_GT(zone->Stats().cpu_caches[cpus[0]].blocks, 0u);
  RunOnCpu(cpus[1], [&] {
    for (int i = 0; i < 20; ++i) blocks[i] = zone->Allocate();
  });
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.overflow_allocations, 0u);
  EXPECT_EQ(stats.extensions, 0u);
  EXPECT_EQ(stats.capacity_blocks, 64u);
  EXPECT_GT(stats.cpu_caches[cpus[0]].drains, 0u);
  uint64_t drains = 0;
  for (const CpuCacheStats& cpu : stats.cpu_caches) drains += cpu.drains;
  EXPECT_EQ(stats.cache_drains, drains) << "the zone's count is its CPUs' together";
  for (void* block : blocks) zone->Free(block);
}

// "Full-zone path" in zone.h: fewer cached blocks than a batch are not
// worth a fence per CPU, neither before a temporary overflow nor before an
// extension; a batch is, before either.
TEST_F(ZoneCpuCacheTest, OnlyABatchOfCachedBlocksIsDrainedBeforeOverflowOrExtension) {
  const std::vector<int> cpus = AllowedCpus();
  if (!CachesOn() || cpus.size() < 2) GTEST_SKIP() << "needs caches and two CPUs";
  for (const int cached : {5, 16}) {  // fewer than a batch, a batch
    SCOPED_TRACE(absl::StrFormat("%d blocks cached on CPU %d", cached, cpus[0]));
    auto zone = MakeZone({.block_size = 64, .initial_blocks = 64,
                          .extend_after_overflow_allocations = 2, .cpu_cache_blocks = 32,
                          .cpu_cache_max_blocks = 32, .cpu_cache_batch_blocks = 16});
    std::vector<void*> blocks;
    RunOnCpu(cpus[0], [&] {
      for (int i = 0; i < 64; ++i) blocks.push_back(zone->Allocate());
      for (int i = 0; i < cached; ++i) zone->Free(blocks[i]);  // into CPU 0's cache
    });
    ASSERT_EQ(zone->Stats().cpu_caches[cpus[0]].blocks, static_cast<size_t>(cached));
    // Two overflows, then the rule says extend.
    std::vector<void*> more;
    RunOnCpu(cpus[1], [&] {
      for (int i = 0; i < 3; ++i) more.push_back(zone->Allocate());
    });
    const ZoneStats stats = zone->Stats();
    if (cached < 16) {
      EXPECT_EQ(stats.cpu_caches[cpus[0]].drains, 0u);
      EXPECT_EQ(stats.overflow_allocations, 2u);
      EXPECT_EQ(stats.extensions, 1u) << "extended with " << cached << " blocks cached";
      EXPECT_EQ(stats.cpu_caches[cpus[0]].blocks, static_cast<size_t>(cached));
    } else {
      EXPECT_EQ(stats.cpu_caches[cpus[0]].drains, 1u);
      EXPECT_EQ(stats.overflow_allocations, 0u);
      EXPECT_EQ(stats.extensions, 0u) << "the cached blocks came back first";
    }
    for (int i = cached; i < 64; ++i) zone->Free(blocks[i]);
    for (void* block : more) zone->Free(block);
  }
}

TEST_F(ZoneCpuCacheTest, AnIdleCpusCacheReturnsToTheSharedZone) {
  const std::vector<int> cpus = AllowedCpus();
  if (!CachesOn() || cpus.size() < 2) GTEST_SKIP() << "needs caches and two CPUs";
  auto zone = MakeZone({.block_size = 64, .initial_blocks = 1024, .cpu_cache_blocks = 32,
                        .cpu_cache_max_blocks = 32});
  RunOnCpu(cpus[0], [&] {
    std::vector<void*> blocks(20);
    for (void*& block : blocks) block = zone->Allocate();
    for (void* block : blocks) zone->Free(block);  // CPU 0's cache holds blocks
  });
  ASSERT_GT(zone->Stats().cpu_caches[cpus[0]].blocks, 0u);
  MissOnCpuThroughTwoIdleScans(*zone, cpus[1]);
  EXPECT_EQ(zone->Stats().cpu_caches[cpus[0]].blocks, 0u);
  EXPECT_GT(zone->Stats().cpu_caches[cpus[0]].drains, 0u);
}

// A thread that deepened its CPU's cache, took every block back out and
// moved on leaves that cache empty but deep. Idle, it goes back to its
// initial depth, so its share of the bound on all caches is free again.
TEST_F(ZoneCpuCacheTest, AnIdleCpusEmptyDeepCacheGoesBackToItsInitialDepth) {
  const std::vector<int> cpus = AllowedCpus();
  if (!CachesOn() || cpus.size() < 2) GTEST_SKIP() << "needs caches and two CPUs";
  auto zone = MakeZone(DeepenableOptions());
  std::vector<void*> held;
  RunOnCpu(cpus[0], [&] { held = DeepenThenEmpty(*zone, cpus[0]); });
  ASSERT_GT(zone->Stats().cpu_caches[cpus[0]].capacity, 16u);
  MissOnCpuThroughTwoIdleScans(*zone, cpus[1]);
  EXPECT_EQ(zone->Stats().cpu_caches[cpus[0]].capacity, 16u);
  zone->FreeBulk(held);
}

}  // namespace
}  // namespace zonealloc
