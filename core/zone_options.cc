// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_options.h>

#include <algorithm>
#include <bit>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include <zonealloc/concurrency/percpu_cache.h>
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/env.h>
#include <zonealloc/zone_sizing.h>

namespace zonealloc {
namespace {

constexpr size_t kMaxAlignment = 4096;
constexpr size_t kMinBlockSize = 8;  // room for a free-list link
constexpr size_t kDefaultOverflowSlabBytes = 16 << 10;
constexpr size_t kMaxOverflowSlabBlocks = 1 << 16;
constexpr size_t kDefaultCpuCacheBytes = 32 << 10;
static_assert(kMaxCpuCacheBlocks == PerCpuCache::kMaxCapacity);

// Debian's Abseil keeps its own absl::string_view, distinct from the
// std::string_view of the public API; this converts at that boundary.
absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

absl::Status Invalid(const ZoneOptions& options, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("zone '%s': %s", ZoneDisplayName(options), what));
}

// ZONEALLOC_CPU_CACHE, read for zones left at CpuCacheMode::kDefault.
constexpr internal::EnvVariable kCpuCacheVariable = {
    .name = "ZONEALLOC_CPU_CACHE",
    .expected = "a CPU cache mode (use rseq, fallback or off)",
    .instead = "the default",
};

// ZONEALLOC_DEBUG, read for zones left with debug_checks unset.
constexpr internal::EnvVariable kDebugVariable = {
    .name = "ZONEALLOC_DEBUG",
    .expected = "a switch (use 1, on, true, yes, or 0, off, false, no)",
    .instead = "the default, off",
};

// False for a value cast from outside the enum, e.g. CpuCacheMode{42}.
bool IsCpuCacheMode(CpuCacheMode mode) {
  switch (mode) {
    case CpuCacheMode::kDefault:
    case CpuCacheMode::kRseq:
    case CpuCacheMode::kFallback:
    case CpuCacheMode::kOff:
      return true;
  }
  return false;
}

// Picks the cache mode and sizes; see ZoneOptions.
absl::Status ResolveCpuCache(const ZoneOptions& options, const SystemProfile& profile,
                             ZoneOptions& resolved) {
  if (!IsCpuCacheMode(options.cpu_cache)) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.cpu_cache = %d is not a CpuCacheMode (kDefault, kRseq, kFallback or kOff)",
        static_cast<int>(options.cpu_cache)));
  }
  if (resolved.cpu_cache_blocks == kDefaultCpuCacheBlocks) {
    const size_t per_cpu_share = resolved.initial_blocks / (4 * std::max(1, profile.usable_cpus));
    const size_t blocks =
        std::min(std::clamp(kDefaultCpuCacheBytes / resolved.block_size, size_t{8}, size_t{512}),
                 per_cpu_share);
    resolved.cpu_cache_blocks = blocks < 4 ? 0 : blocks;
  } else if (resolved.cpu_cache_blocks > kMaxCpuCacheBlocks) {
    return Invalid(options, absl::StrFormat("ZoneOptions.cpu_cache_blocks must be at most %d, got %d",
                                            kMaxCpuCacheBlocks, resolved.cpu_cache_blocks));
  }
  if (resolved.cpu_cache_batch_blocks == 0) {
    resolved.cpu_cache_batch_blocks =
        std::clamp<size_t>(resolved.cpu_cache_blocks / 2, 1, kMaxCpuCacheBatchBlocks);
  } else if (resolved.cpu_cache_batch_blocks > kMaxCpuCacheBatchBlocks ||
             (resolved.cpu_cache_blocks != 0 &&
              resolved.cpu_cache_batch_blocks > resolved.cpu_cache_blocks)) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.cpu_cache_batch_blocks = %d must be at most cpu_cache_blocks = %d and %d",
        resolved.cpu_cache_batch_blocks, resolved.cpu_cache_blocks, kMaxCpuCacheBatchBlocks));
  }

  if (resolved.cpu_cache == CpuCacheMode::kDefault) {
    resolved.cpu_cache = internal::ReadEnv(kCpuCacheVariable, ParseCpuCacheMode)
                             .value_or(RseqSupport().ok() ? CpuCacheMode::kRseq
                                                          : CpuCacheMode::kFallback);
  }
  if (resolved.cpu_cache == CpuCacheMode::kRseq && !RseqSupport().ok()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "zone '%s': rseq CPU caches are not available here: %s", ZoneDisplayName(options),
        RseqSupport().message()));
  }
  if (resolved.cpu_cache_blocks == 0) resolved.cpu_cache = CpuCacheMode::kOff;
  if (resolved.cpu_cache == CpuCacheMode::kOff) resolved.cpu_cache_blocks = 0;
  if (resolved.cpu_cache_max_blocks == 0) {
    resolved.cpu_cache_max_blocks = kMaxCpuCacheBlocks;
  } else if (resolved.cpu_cache_max_blocks < resolved.cpu_cache_blocks ||
             resolved.cpu_cache_max_blocks > kMaxCpuCacheBlocks) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.cpu_cache_max_blocks = %d must be in [cpu_cache_blocks = %d, %d]",
        resolved.cpu_cache_max_blocks, resolved.cpu_cache_blocks, kMaxCpuCacheBlocks));
  }
  if (resolved.cpu_cache == CpuCacheMode::kOff) resolved.cpu_cache_max_blocks = 0;
  return absl::OkStatus();
}

}  // namespace

std::string_view CpuCacheModeName(CpuCacheMode mode) {
  switch (mode) {
    case CpuCacheMode::kDefault: return "default";
    case CpuCacheMode::kRseq: return "rseq";
    case CpuCacheMode::kFallback: return "fallback";
    case CpuCacheMode::kOff: return "off";
  }
  return "?";
}

absl::StatusOr<bool> ParseDebugChecks(std::string_view text) {
  for (std::string_view on : {"1", "on", "true", "yes"}) {
    if (absl::EqualsIgnoreCase(ToAbsl(text), ToAbsl(on))) return true;
  }
  for (std::string_view off : {"0", "off", "false", "no"}) {
    if (absl::EqualsIgnoreCase(ToAbsl(text), ToAbsl(off))) return false;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "'%s' is not a switch: use 1, on, true, yes, or 0, off, false, no", std::string(text)));
}

absl::StatusOr<CpuCacheMode> ParseCpuCacheMode(std::string_view text) {
  for (CpuCacheMode mode : {CpuCacheMode::kRseq, CpuCacheMode::kFallback, CpuCacheMode::kOff}) {
    if (absl::EqualsIgnoreCase(ToAbsl(text), ToAbsl(CpuCacheModeName(mode)))) return mode;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "'%s' is not a CPU cache mode: use rseq, fallback or off", std::string(text)));
}

std::string ZoneDisplayName(const ZoneOptions& options) {
  return options.name.empty() ? "<unnamed>" : options.name;
}

absl::StatusOr<ZoneOptions> ResolveZoneOptions(const ZoneOptions& options,
                                               const SystemProfile& profile) {
  using internal::kMaxBlocks;
  using internal::kMaxBlockSize;
  using internal::kMaxRegionBytes;
  if (options.block_size == 0 || options.block_size > kMaxBlockSize) {
    return Invalid(options, absl::StrFormat("ZoneOptions.block_size must be in [1, %d], got %d",
                                            kMaxBlockSize, options.block_size));
  }
  if (!std::has_single_bit(options.alignment) || options.alignment > kMaxAlignment) {
    return Invalid(options,
                   absl::StrFormat("ZoneOptions.alignment must be a power of two <= %d, got %d",
                                   kMaxAlignment, options.alignment));
  }
  ZoneOptions resolved = options;
  const size_t granule = std::max(options.alignment, kMinBlockSize);
  resolved.block_size = (std::max(options.block_size, kMinBlockSize) + granule - 1) / granule * granule;
  const size_t blocks_that_fit = std::min(kMaxBlocks, kMaxRegionBytes / resolved.block_size);

  if (resolved.initial_blocks == 0) {
    resolved.initial_blocks = DefaultZoneBlocks(profile, resolved.block_size);
  }
  if (resolved.initial_blocks > blocks_that_fit) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.initial_blocks = %d blocks of %d bytes is more than the %d that fit",
        resolved.initial_blocks, resolved.block_size, blocks_that_fit));
  }
  if (resolved.max_blocks == 0) {
    const uint64_t budget_blocks = DefaultPermanentBudgetBytes(profile) /
                                   internal::BlockRegion::PermanentBytes(resolved.block_size, 1);
    const size_t by_factor = resolved.initial_blocks > blocks_that_fit / kDefaultMaxBlocksFactor
                                 ? blocks_that_fit
                                 : resolved.initial_blocks * kDefaultMaxBlocksFactor;
    resolved.max_blocks = std::min<uint64_t>(blocks_that_fit, std::max<uint64_t>(by_factor, budget_blocks));
  } else if (resolved.max_blocks < resolved.initial_blocks) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.max_blocks = %d is below initial_blocks = %d",
        resolved.max_blocks, resolved.initial_blocks));
  } else if (resolved.max_blocks > blocks_that_fit) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.max_blocks = %d blocks of %d bytes is more than the %d that fit",
        resolved.max_blocks, resolved.block_size, blocks_that_fit));
  }
  if (resolved.extension_blocks == 0) resolved.extension_blocks = resolved.initial_blocks;
  if (resolved.extension_growth_percent > kMaxExtensionGrowthPercent) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.extension_growth_percent must be at most %d, got %d",
        kMaxExtensionGrowthPercent, resolved.extension_growth_percent));
  }
  if (resolved.extend_after_overflow_allocations == 0) {
    return Invalid(options,
                   "ZoneOptions.extend_after_overflow_allocations must be at least 1, got 0");
  }
  // The rule extends only once that many overflow blocks are in use: a
  // lower cap would make max_blocks and the budget dead settings.
  if (resolved.max_overflow_blocks != 0 && resolved.max_blocks > resolved.initial_blocks &&
      resolved.max_overflow_blocks < resolved.extend_after_overflow_allocations) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.max_overflow_blocks must be 0 (no cap) or at least "
        "extend_after_overflow_allocations (%d) for a zone that may extend (max_blocks %d > "
        "initial_blocks %d), got %d: it could never extend",
        resolved.extend_after_overflow_allocations, resolved.max_blocks, resolved.initial_blocks,
        resolved.max_overflow_blocks));
  }
  if (resolved.overflow_slab_blocks == 0) {
    resolved.overflow_slab_blocks =
        std::clamp(kDefaultOverflowSlabBytes / resolved.block_size, size_t{4}, size_t{256});
  } else if (resolved.overflow_slab_blocks > kMaxOverflowSlabBlocks) {
    return Invalid(options, absl::StrFormat(
        "ZoneOptions.overflow_slab_blocks must be at most %d, got %d", kMaxOverflowSlabBlocks,
        resolved.overflow_slab_blocks));
  }
  if (!resolved.debug_checks.has_value()) {
    resolved.debug_checks = internal::ReadEnv(kDebugVariable, ParseDebugChecks).value_or(false);
  }
  // Every operation of a debug-checked zone takes the checked path, which
  // has no CPU caches.
  if (*resolved.debug_checks) resolved.cpu_cache = CpuCacheMode::kOff;
  if (absl::Status status = ResolveCpuCache(options, profile, resolved); !status.ok()) {
    return status;
  }
  if (resolved.page_source == nullptr) resolved.page_source = &DefaultPageSource();
  return resolved;
}

}  // namespace zonealloc
