#include <zonealloc/zone_options.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/zone_sizing.h>

namespace zonealloc {
namespace {

using ::testing::HasSubstr;

const SystemProfile kMediumWorkstation{.physical_memory_bytes = uint64_t{16} << 30,
                                       .usable_cpus = 4};

absl::Status ErrorFor(const ZoneOptions& options) {
  return ResolveZoneOptions(options, kMediumWorkstation).status();
}

TEST(ZoneOptionsTest, BlockSizeIsRoundedForAlignmentAndTheLink) {
  auto resolved = ResolveZoneOptions({.block_size = 1, .alignment = 1, .initial_blocks = 4},
                                     kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->block_size, 8u);
  resolved = ResolveZoneOptions({.block_size = 100, .alignment = 64, .initial_blocks = 4},
                                kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->block_size, 128u);
  resolved = ResolveZoneOptions({.block_size = 24, .initial_blocks = 4}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->block_size, 32u) << "default alignment is max_align_t's";
}

TEST(ZoneOptionsTest, DefaultsComeFromTheProfile) {
  auto resolved = ResolveZoneOptions({.block_size = 64}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->initial_blocks, DefaultZoneBlocks(kMediumWorkstation, 64));
  EXPECT_EQ(resolved->max_blocks, resolved->initial_blocks * kDefaultMaxBlocksFactor);
  EXPECT_EQ(resolved->page_source, &DefaultPageSource());
}

TEST(ZoneOptionsTest, ZeroBlockSizeNamesTheField) {
  const absl::Status status = ErrorFor({.name = "conn", .block_size = 0});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ZoneOptions.block_size"));
  EXPECT_THAT(status.message(), HasSubstr("got 0"));
  EXPECT_THAT(status.message(), HasSubstr("conn"));
}

TEST(ZoneOptionsTest, AbsurdBlockSizeIsRejected) {
  const absl::Status status = ErrorFor({.block_size = size_t{1} << 40});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("got 1099511627776"));
}

TEST(ZoneOptionsTest, AlignmentMustBeAPowerOfTwoUpToAPage) {
  for (size_t bad : {size_t{0}, size_t{3}, size_t{48}, size_t{8192}}) {
    const absl::Status status = ErrorFor({.block_size = 64, .alignment = bad});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("ZoneOptions.alignment"));
    EXPECT_THAT(status.message(), HasSubstr("got " + std::to_string(bad)));
  }
  EXPECT_TRUE(ErrorFor({.block_size = 64, .alignment = 4096, .initial_blocks = 1}).ok());
}

TEST(ZoneOptionsTest, SizesThatOverflowAreRejected) {
  const absl::Status status =
      ErrorFor({.block_size = 1 << 20, .initial_blocks = size_t{1} << 50});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ZoneOptions.initial_blocks"));
  EXPECT_EQ(ErrorFor({.block_size = 64, .initial_blocks = SIZE_MAX}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorFor({.block_size = 64, .initial_blocks = 1, .max_blocks = SIZE_MAX}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ZoneOptionsTest, MaxBelowInitialIsRejected) {
  const absl::Status status = ErrorFor({.block_size = 64, .initial_blocks = 10, .max_blocks = 5});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("max_blocks = 5"));
}

TEST(ZoneOptionsTest, ExtensionAndOverflowDefaults) {
  auto resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 100}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->extension_blocks, 100u) << "extensions default to the initial size";
  EXPECT_EQ(resolved->extend_after_overflow_allocations, 2u);
  EXPECT_EQ(resolved->overflow_slab_blocks, 256u) << "16 KiB of 64-byte blocks";
  resolved = ResolveZoneOptions({.block_size = 8192, .initial_blocks = 4}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->overflow_slab_blocks, 4u) << "at least 4 blocks per slab";
}

TEST(ZoneOptionsTest, BadOverflowSettingsAreRejected) {
  EXPECT_THAT(ErrorFor({.block_size = 64, .initial_blocks = 4,
                        .extend_after_overflow_allocations = 0})
                  .message(),
              HasSubstr("ZoneOptions.extend_after_overflow_allocations"));
  EXPECT_THAT(ErrorFor({.block_size = 64, .initial_blocks = 4,
                        .overflow_slab_blocks = size_t{1} << 20})
                  .message(),
              HasSubstr("ZoneOptions.overflow_slab_blocks"));
}

TEST(ZoneOptionsTest, UnnamedZonesAreShownAsSuch) {
  EXPECT_EQ(ZoneDisplayName({}), "<unnamed>");
  EXPECT_EQ(ZoneDisplayName({.name = "req"}), "req");
}

}  // namespace
}  // namespace zonealloc
