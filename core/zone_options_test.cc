// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_options.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/internal/env.h>
#include <zonealloc/testing/scoped_env.h>
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
  EXPECT_EQ(resolved->max_blocks,
            std::max<size_t>(resolved->initial_blocks * kDefaultMaxBlocksFactor,
                             DefaultPermanentBudgetBytes(kMediumWorkstation) / (64 + 5)))
      << "what the default budget could pay for";
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

TEST(ZoneOptionsTest, BlockSizesUpTo16MiBAreAccepted) {
  EXPECT_TRUE(ErrorFor({.block_size = size_t{16} << 20, .initial_blocks = 4}).ok());
  const absl::Status status = ErrorFor({.block_size = (size_t{16} << 20) + 8, .initial_blocks = 4});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("got 16777224"));
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
  EXPECT_EQ(resolved->extension_growth_percent, 50u) << "... or half the zone, when larger";
  EXPECT_EQ(resolved->extend_after_overflow_allocations, 2u);
  EXPECT_EQ(resolved->overflow_slab_blocks, 256u) << "16 KiB of 64-byte blocks";
  resolved = ResolveZoneOptions({.block_size = 8192, .initial_blocks = 4}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->overflow_slab_blocks, 4u) << "at least 4 blocks per slab";
  resolved = ResolveZoneOptions({.block_size = 16, .initial_blocks = 4}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->overflow_slab_blocks, 256u) << "at most 256 blocks per slab";
}

TEST(ZoneOptionsTest, CacheDepthDefaultsAndLimits) {
  auto resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 100}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->cpu_cache_max_blocks, kMaxCpuCacheBlocks)
      << "the bound on all caches together limits one CPU, not a per-CPU default";
  resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 100, .cpu_cache_blocks = 16,
                                 .cpu_cache_max_blocks = kMaxCpuCacheBlocks + 1},
                                kMediumWorkstation);
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(resolved.status().message().find("cpu_cache_max_blocks = 32761"), std::string::npos)
      << resolved.status();
  resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 100, .cpu_cache_blocks = 16,
                                 .cpu_cache_max_blocks = 8},
                                kMediumWorkstation);
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument) << "below the initial depth";
  resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 100, .cpu_cache = CpuCacheMode::kOff},
                                kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->cpu_cache_max_blocks, 0u) << "no caches, no depth";
}

// The default depth: 32 KiB of blocks within [8, 512], at most a quarter
// of the zone per CPU (kMediumWorkstation has 4), and no caches below 4
// blocks; a batch is half a cache.
TEST(ZoneOptionsTest, TheDefaultCacheDepthIsASliceOfTheZone) {
  struct Case {
    size_t block_size;
    size_t initial_blocks;
    size_t depth;
    size_t batch;
  };
  for (const Case& c : {Case{64, 8192, 512, 256},     // 32 KiB of blocks
                        Case{64, 400, 25, 12},        // a quarter of 400 over 4 CPUs
                        Case{8192, 4096, 8, 4},       // at least 8 blocks
                        Case{8, 1 << 20, 512, 256}})  // at most 512
  {
    auto resolved = ResolveZoneOptions(
        {.block_size = c.block_size, .initial_blocks = c.initial_blocks}, kMediumWorkstation);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(resolved->cpu_cache_blocks, c.depth) << c.block_size << " x " << c.initial_blocks;
    EXPECT_EQ(resolved->cpu_cache_batch_blocks, c.batch) << c.block_size << " x " << c.initial_blocks;
    EXPECT_NE(resolved->cpu_cache, CpuCacheMode::kOff);
  }
  auto resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 60}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->cpu_cache_blocks, 0u) << "3 blocks a CPU: too few to cache";
  EXPECT_EQ(resolved->cpu_cache, CpuCacheMode::kOff);
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
  EXPECT_TRUE(ResolveZoneOptions({.block_size = 64, .initial_blocks = 4,
                                  .extension_growth_percent = 100},
                                 kMediumWorkstation)
                  .ok())
      << "a zone may double";
  EXPECT_THAT(ErrorFor({.block_size = 64, .initial_blocks = 4, .extension_growth_percent = 101})
                  .message(),
              HasSubstr("ZoneOptions.extension_growth_percent must be at most 100, got 101"));
}

// The rule extends once extend_after_overflow_allocations overflow blocks
// are in use, so a lower overflow cap would keep a zone that may extend
// from ever doing so.
TEST(ZoneOptionsTest, AnOverflowCapBelowTheExtensionRuleIsRejected) {
  EXPECT_THAT(ErrorFor({.block_size = 64, .initial_blocks = 8, .max_blocks = 1000,
                        .max_overflow_blocks = 1})
                  .message(),
              HasSubstr("ZoneOptions.max_overflow_blocks must be 0 (no cap) or at least "
                        "extend_after_overflow_allocations (2) for a zone that may extend "
                        "(max_blocks 1000 > initial_blocks 8), got 1"));
  EXPECT_TRUE(ResolveZoneOptions({.block_size = 64, .initial_blocks = 8, .max_blocks = 1000,
                                  .max_overflow_blocks = 2},
                                 kMediumWorkstation)
                  .ok());
  EXPECT_TRUE(ResolveZoneOptions({.block_size = 64, .initial_blocks = 8, .max_blocks = 8,
                                  .max_overflow_blocks = 1},
                                 kMediumWorkstation)
                  .ok())
      << "a zone that cannot extend may cap its overflow anywhere";
}

TEST(ZoneOptionsTest, UnnamedZonesAreShownAsSuch) {
  EXPECT_EQ(ZoneDisplayName({}), "<unnamed>");
  EXPECT_EQ(ZoneDisplayName({.name = "req"}), "req");
}

TEST(ZoneOptionsTest, ACpuCacheModeOutsideTheEnumIsRejected) {
  const absl::Status status = ErrorFor(
      {.name = "conn", .block_size = 64, .initial_blocks = 256,
       .cpu_cache = static_cast<CpuCacheMode>(42)});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ZoneOptions.cpu_cache = 42"));
  EXPECT_THAT(status.message(), HasSubstr("conn"));
}

TEST(ParseCpuCacheModeTest, IgnoresCase) {
  EXPECT_EQ(ParseCpuCacheMode("rseq").value(), CpuCacheMode::kRseq);
  EXPECT_EQ(ParseCpuCacheMode("Fallback").value(), CpuCacheMode::kFallback);
  EXPECT_EQ(ParseCpuCacheMode("OFF").value(), CpuCacheMode::kOff);

  const absl::StatusOr<CpuCacheMode> bad = ParseCpuCacheMode("turbo");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("turbo"));
  EXPECT_FALSE(ParseCpuCacheMode("default").ok()) << "kDefault is not a value to ask for";
}

// The mode a zone left at kDefault gets with no variable set.
CpuCacheMode BuiltInDefault() {
  return RseqSupport().ok() ? CpuCacheMode::kRseq : CpuCacheMode::kFallback;
}

TEST(ZoneOptionsCpuCacheEnvTest, TheVariableIsTrimmedAndMatchedIgnoringCase) {
  internal::ScopedEnv env("ZONEALLOC_CPU_CACHE", " FALLBACK\n");
  auto resolved = ResolveZoneOptions({.block_size = 64, .initial_blocks = 256}, kMediumWorkstation);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->cpu_cache, CpuCacheMode::kFallback);
}

TEST(ZoneOptionsCpuCacheEnvTest, ABadValueIsIgnoredWithAWarningNotAnError) {
  internal::ScopedEnv env("ZONEALLOC_CPU_CACHE", "Fast");
  ::testing::internal::CaptureStderr();
  auto first = ResolveZoneOptions({.block_size = 64, .initial_blocks = 256}, kMediumWorkstation);
  auto second = ResolveZoneOptions({.block_size = 64, .initial_blocks = 256}, kMediumWorkstation);
  const std::string warnings = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->cpu_cache, BuiltInDefault());
  EXPECT_EQ(warnings,
            "zonealloc: ignoring ZONEALLOC_CPU_CACHE=\"Fast\": not a CPU cache mode (use rseq, "
            "fallback or off); using the default\n")
      << "one line, however many zones";
}

TEST(ZoneOptionsCpuCacheEnvTest, AnExplicitModeDoesNotReadTheVariable) {
  internal::ScopedEnv env("ZONEALLOC_CPU_CACHE", "Fast");
  ::testing::internal::CaptureStderr();
  auto resolved = ResolveZoneOptions(
      {.block_size = 64, .initial_blocks = 256, .cpu_cache = CpuCacheMode::kFallback},
      kMediumWorkstation);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->cpu_cache, CpuCacheMode::kFallback);
}

}  // namespace
}  // namespace zonealloc
