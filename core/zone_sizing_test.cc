// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_sizing.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <zonealloc/system_profile.h>

#include "gtest/gtest.h"

namespace zonealloc {
namespace {

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// A hand-built machine of `memory_bytes`: one per memory class below.
SystemProfile Machine(uint64_t memory_bytes, SystemRole role) {
  SystemProfile profile;
  profile.physical_memory_bytes = memory_bytes;
  profile.role = role;
  return profile;
}

constexpr uint64_t kSmallMemory = 2 * kGiB;
constexpr uint64_t kMediumMemory = 16 * kGiB;
constexpr uint64_t kLargeMemory = 64 * kGiB;

// One row of the guidelines' table: a modest zone for each kind of machine.
struct SizingRow {
  MemoryClass memory_class;
  uint64_t memory_bytes;
  SystemRole role;
  size_t zone_bytes;
};

constexpr SizingRow kTable[] = {
    {MemoryClass::kSmall, kSmallMemory, SystemRole::kWorkstation, 64 * kKiB},
    {MemoryClass::kSmall, kSmallMemory, SystemRole::kServer, 128 * kKiB},
    {MemoryClass::kMedium, kMediumMemory, SystemRole::kWorkstation, 256 * kKiB},
    {MemoryClass::kMedium, kMediumMemory, SystemRole::kServer, 1 * kMiB},
    {MemoryClass::kLarge, kLargeMemory, SystemRole::kWorkstation, 1 * kMiB},
    {MemoryClass::kLarge, kLargeMemory, SystemRole::kServer, 4 * kMiB},
};

TEST(ZoneSizingTest, DefaultZoneBytesFollowsTheTable) {
  for (const SizingRow& row : kTable) {
    SCOPED_TRACE(std::string(MemoryClassName(row.memory_class)) + " " +
                 std::string(SystemRoleName(row.role)));
    EXPECT_EQ(DefaultZoneBytes(row.memory_class, row.role), row.zone_bytes);
  }
}

TEST(ZoneSizingTest, DefaultZoneBlocksDividesTheTableByBlockSize) {
  for (const SizingRow& row : kTable) {
    const SystemProfile profile = Machine(row.memory_bytes, row.role);
    SCOPED_TRACE(profile.DebugString());
    ASSERT_EQ(profile.memory_class(), row.memory_class);
    EXPECT_EQ(DefaultZoneBlocks(profile, 64), row.zone_bytes / 64);
    EXPECT_EQ(DefaultZoneBlocks(profile, 1), row.zone_bytes);
  }
}

TEST(ZoneSizingTest, DefaultZoneBlocksRoundsDown) {
  // 256 KiB of 1000-byte blocks: 262 whole blocks, 144 bytes left over.
  EXPECT_EQ(DefaultZoneBlocks(Machine(kMediumMemory, SystemRole::kWorkstation), 1000), 262u);
}

TEST(ZoneSizingTest, LargeBlocksStillGetTheMinimum) {
  const SystemProfile small = Machine(kSmallMemory, SystemRole::kWorkstation);
  EXPECT_EQ(DefaultZoneBlocks(small, 4 * kKiB), kMinDefaultZoneBlocks);   // exactly 16
  EXPECT_EQ(DefaultZoneBlocks(small, 8 * kKiB), kMinDefaultZoneBlocks);   // 8 by the table
  EXPECT_EQ(DefaultZoneBlocks(small, 64 * kKiB), kMinDefaultZoneBlocks);  // 1 by the table
  EXPECT_EQ(DefaultZoneBlocks(small, 1 * kMiB), kMinDefaultZoneBlocks);   // 0 by the table

  const SystemProfile large = Machine(kLargeMemory, SystemRole::kServer);
  EXPECT_EQ(DefaultZoneBlocks(large, 128 * kKiB), 32u);
  EXPECT_EQ(DefaultZoneBlocks(large, 1 * kMiB), kMinDefaultZoneBlocks);
  EXPECT_EQ(DefaultZoneBlocks(large, 16 * kMiB), kMinDefaultZoneBlocks);
}

TEST(ZoneSizingTest, CgroupLimitPicksTheSmallerZone) {
  SystemProfile container = Machine(kLargeMemory, SystemRole::kServer);
  container.cgroup_memory_limit_bytes = 2 * kGiB;  // small by its limit
  EXPECT_EQ(DefaultZoneBlocks(container, 1), 128 * kKiB);
}

TEST(ZoneSizingTest, PermanentBudgetIsAShareOfUsableMemory) {
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(16 * kGiB, SystemRole::kWorkstation)), 256 * kMiB);
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(16 * kGiB, SystemRole::kServer)), 1 * kGiB);

  SystemProfile container = Machine(kLargeMemory, SystemRole::kServer);
  container.cgroup_memory_limit_bytes = 8 * kGiB;
  EXPECT_EQ(DefaultPermanentBudgetBytes(container), 512 * kMiB);
}

TEST(ZoneSizingTest, PermanentBudgetIsAtLeast64MiB) {
  // 4 GiB / 64 is exactly the floor; below that the floor holds.
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(4 * kGiB, SystemRole::kWorkstation)), 64 * kMiB);
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(2 * kGiB, SystemRole::kWorkstation)), 64 * kMiB);
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(512 * kMiB, SystemRole::kServer)), 64 * kMiB);
  EXPECT_EQ(DefaultPermanentBudgetBytes(Machine(2 * kGiB, SystemRole::kServer)), 128 * kMiB);
}

TEST(ZoneSizingDeathTest, ZeroBlockSizeIsABug) {
  EXPECT_DEATH(DefaultZoneBlocks(Machine(kMediumMemory, SystemRole::kWorkstation), 0),
               "block_size");
}

}  // namespace
}  // namespace zonealloc
