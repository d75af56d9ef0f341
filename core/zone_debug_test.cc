// SPDX-License-Identifier: Apache-2.0
// ZoneOptions::debug_checks and ZONEALLOC_DEBUG (write after free, double
// free, in every build), and the leak report of a zone destroyed with blocks
// in use. Registered in every CPU cache mode.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/testing/scoped_env.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

using ::testing::HasSubstr;

constexpr size_t kBlockSize = 64;

std::unique_ptr<Zone> MakeZone(ZoneOptions options) {
  absl::StatusOr<std::unique_ptr<Zone>> zone = Zone::Create(options);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return *std::move(zone);
}

TEST(ZoneLeakReportTest, DestroyingAZoneWithBlocksInUseSaysHowMany) {
  auto zone = MakeZone({.name = "leaky", .block_size = kBlockSize, .initial_blocks = 64});
  std::vector<void*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(zone->Allocate());
  zone->Free(blocks.back());  // 4 stay in use
  ::testing::internal::CaptureStderr();
  zone.reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "zonealloc: zone 'leaky' destroyed with 4 blocks in use (256 bytes)\n");
}

TEST(ZoneLeakReportTest, OverflowBlocksInUseCountToo) {
  auto zone = MakeZone({.name = "leaky", .block_size = kBlockSize, .initial_blocks = 32,
                        .max_blocks = 32});
  std::set<void*> permanent = internal::TakeEveryFreeBlock(*zone);
  void* overflow = zone->Allocate();
  ASSERT_NE(overflow, nullptr);
  for (void* p : permanent) zone->Free(p);
  ::testing::internal::CaptureStderr();
  zone.reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "zonealloc: zone 'leaky' destroyed with 1 blocks in use (64 bytes)\n");
}

TEST(ZoneLeakReportTest, AZoneWithEveryBlockFreedIsDestroyedSilently) {
  auto zone = MakeZone({.name = "tidy", .block_size = kBlockSize, .initial_blocks = 64});
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) blocks.push_back(zone->Allocate());
  for (void* block : blocks) zone->Free(block);  // some stay in CPU caches: free, not leaked
  ::testing::internal::CaptureStderr();
  zone.reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ZoneLeakReportTest, UnsynchronizedZoneReportsToo) {
  auto zone = UnsynchronizedZone::Create({.name = "solo", .block_size = 48, .initial_blocks = 8});
  ASSERT_TRUE(zone.ok());
  (*zone)->Allocate();
  (*zone)->Free((*zone)->Allocate());
  (*zone)->Allocate();
  ::testing::internal::CaptureStderr();
  zone->reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "zonealloc: zone 'solo' destroyed with 2 blocks in use (96 bytes)\n");
}

// A program whose stderr is a pipe nobody reads any more (`prog 2>&1 | head`)
// keeps its own exit status when a zone it leaks from is destroyed: the leak
// line fails with EPIPE instead of killing it with SIGPIPE.
TEST(ZoneLeakReportTest, AClosedStderrPipeDoesNotKillTheProgram) {
  auto zone = MakeZone({.name = "leaky", .block_size = kBlockSize, .initial_blocks = 64});
  void* leaked = zone->Allocate();
  ASSERT_NE(leaked, nullptr);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // SIGPIPE as a program has it: default action, not blocked.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    ::pthread_sigmask(SIG_UNBLOCK, &sigpipe, nullptr);
    ::close(pipe_fds[0]);  // no reader left: a write raises SIGPIPE
    ::dup2(pipe_fds[1], STDERR_FILENO);
    zone.reset();  // the leak line
    ::_exit(0);
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  zone->Free(leaked);  // this process's zone leaks nothing
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << " (SIGPIPE is "
                                 << SIGPIPE << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ZoneDebugChecksTest, ParsesTheSwitch) {
  for (const char* on : {"1", "on", "true", "yes"}) EXPECT_TRUE(*ParseDebugChecks(on)) << on;
  for (const char* off : {"0", "off", "false", "no"}) EXPECT_FALSE(*ParseDebugChecks(off)) << off;
  EXPECT_TRUE(*ParseDebugChecks("ON")) << "in any case";
  EXPECT_FALSE(*ParseDebugChecks("No"));
  EXPECT_THAT(ParseDebugChecks("maybe").status().message(), HasSubstr("'maybe'"));
}

TEST(ZoneDebugChecksTest, ADebugCheckedZoneRunsWithoutCpuCaches) {
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 64,
                        .cpu_cache = CpuCacheMode::kFallback, .debug_checks = true});
  EXPECT_TRUE(zone->debug_checks());
  EXPECT_EQ(zone->cpu_cache_mode(), CpuCacheMode::kOff);
  auto plain = MakeZone({.name = "plain", .block_size = kBlockSize, .initial_blocks = 64,
                         .debug_checks = false});
  EXPECT_FALSE(plain->debug_checks());
}

TEST(ZoneDebugChecksTest, ZoneallocDebugTurnsThemOnForZonesLeftAtTheDefault) {
  {
    internal::ScopedEnv env("ZONEALLOC_DEBUG", " On ");
    EXPECT_TRUE(MakeZone({.block_size = kBlockSize, .initial_blocks = 64})->debug_checks());
    EXPECT_FALSE(MakeZone({.block_size = kBlockSize, .initial_blocks = 64, .debug_checks = false})
                     ->debug_checks())
        << "an explicit option wins";
  }
  {
    internal::ScopedEnv env("ZONEALLOC_DEBUG", "0");
    EXPECT_FALSE(MakeZone({.block_size = kBlockSize, .initial_blocks = 64})->debug_checks());
  }
  {
    internal::ScopedEnv env("ZONEALLOC_DEBUG", "sometimes");
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(MakeZone({.block_size = kBlockSize, .initial_blocks = 64})->debug_checks());
    EXPECT_THAT(::testing::internal::GetCapturedStderr(),
                HasSubstr("zonealloc: ignoring ZONEALLOC_DEBUG=\"sometimes\""));
  }
}

TEST(ZoneDebugChecksTest, FreedBlocksAreFilledAndHandedOutWhole) {
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 16,
                        .max_blocks = 16, .debug_checks = true});
  // Every path: single, bulk, the slow path's re-take, an extension-free
  // full zone with overflow.
  for (int round = 0; round < 3; ++round) {
    std::vector<void*> blocks(20);  // 4 from overflow
    ASSERT_EQ(zone->AllocateBulk(blocks), blocks.size());
    for (void* block : blocks) std::memset(block, 0x11, kBlockSize);
    zone->FreeBulk(blocks);
    void* block = zone->Allocate();
    std::memset(block, 0x22, kBlockSize);
    zone->Free(block);
  }
  EXPECT_EQ(zone->Stats().in_use_blocks, 0u);
}

TEST(ZoneDebugChecksTest, AnExtensionIsFilledToo) {
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 4,
                        .extension_blocks = 4, .extend_after_overflow_allocations = 1,
                        .debug_checks = true});
  std::vector<void*> blocks;
  for (int i = 0; i < 12; ++i) blocks.push_back(zone->Allocate());
  EXPECT_GE(zone->Stats().extensions, 1u);
  for (void* block : blocks) zone->Free(block);
  for (int i = 0; i < 12; ++i) blocks[i] = zone->Allocate();  // verified
  for (void* block : blocks) zone->Free(block);
}

TEST(ZoneDebugChecksTest, WriteAfterFreeIsReportedWithZoneBlockAndOffset) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 1,
                        .max_blocks = 1, .debug_checks = true});
  char* block = static_cast<char*>(zone->Allocate());
  zone->Free(block);
  const std::string expected =
      "zone 'dbg': block 0x[0-9a-f]+ was written after it was freed: byte at offset 37 is "
      "0x7f, not the fill 0xdb";
  EXPECT_DEATH(
      {
        internal::UnpoisonBlock(block, kBlockSize);  // ASan would stop the write itself
        block[37] = 0x7f;
        zone->Allocate();
      },
      expected);
}

// An overflow block's first word is its slab's free-list link while free;
// the rest is checked like a zone block.
TEST(ZoneDebugChecksTest, WriteAfterFreeOfAnOverflowBlockIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 1,
                        .max_blocks = 1, .debug_checks = true});
  void* kept = zone->Allocate();  // the zone is full from here
  char* block = static_cast<char*>(zone->Allocate());
  ASSERT_EQ(zone->Stats().overflow_blocks_in_use, 1u);
  zone->Free(block);  // its slab stays, as the spare, while the zone is full
  const std::string expected =
      "zone 'dbg': block 0x[0-9a-f]+ was written after it was freed: byte at offset 37 is "
      "0x7f, not the fill 0xdb";
  EXPECT_DEATH(
      {
        internal::UnpoisonBlock(block, kBlockSize);
        block[37] = 0x7f;
        zone->Allocate();
      },
      expected);
  void* again = zone->Allocate();  // unwritten: handed out, verified
  EXPECT_EQ(again, block);
  zone->Free(again);
  zone->Free(kept);
}

// Zeroing a freed object is a common write after free; a freed overflow
// block that reads as zeros is not taken for one never handed out.
TEST(ZoneDebugChecksTest, ZeroingAFreedOverflowBlockIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg",
                        .block_size = kBlockSize,
                        .initial_blocks = 1,
                        .max_blocks = 1,
                        .debug_checks = true});
  void* kept = zone->Allocate();  // the zone is full from here
  char* block = static_cast<char*>(zone->Allocate());
  zone->Free(block);  // its slab stays, as the spare, while the zone is full
  EXPECT_DEATH(
      {
        internal::UnpoisonBlock(block, kBlockSize);
        std::memset(block + sizeof(void*), 0, kBlockSize - sizeof(void*));
        zone->Allocate();
      },
      "zone 'dbg': block 0x[0-9a-f]+ was written after it was freed: byte at offset 8 is 0x00");
  zone->Free(kept);
}

TEST(ZoneDebugChecksTest, DoubleFreeIsReportedInEveryBuild) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 8,
                        .debug_checks = true});
  void* kept = zone->Allocate();
  void* block = zone->Allocate();
  zone->Free(block);
  EXPECT_DEATH(zone->Free(block), "zone 'dbg': double free of block 0x[0-9a-f]+");
  EXPECT_DEATH(zone->FreeBulk(std::vector<void*>{block}), "zone 'dbg': double free");
  zone->Free(kept);
}

// The fill is written only into a block handed out, so a double free of an
// overflow block reaches the slab's own check.
TEST(ZoneDebugChecksTest, DoubleFreeOfAnOverflowBlockIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 1,
                        .max_blocks = 1, .debug_checks = true});
  void* kept = zone->Allocate();
  void* held = zone->Allocate();  // keeps the slab mapped
  void* block = zone->Allocate();
  ASSERT_EQ(zone->Stats().overflow_blocks_in_use, 2u);
  zone->Free(block);
  EXPECT_DEATH(zone->Free(block), "a block freed twice or never handed out");
  zone->Free(held);
  zone->Free(kept);
}

TEST(ZoneDebugChecksTest, ForeignPointersAreReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto zone = MakeZone({.name = "dbg", .block_size = kBlockSize, .initial_blocks = 8,
                        .debug_checks = true});
  int on_stack = 0;
  EXPECT_DEATH(zone->Free(&on_stack), "zone 'dbg': Free\\(.*\\) of a pointer this zone does not own");
}

}  // namespace
}  // namespace zonealloc
