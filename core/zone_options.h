// SPDX-License-Identifier: Apache-2.0
// ZoneOptions configures one zone. Only block_size is required; everything
// else has a default sized from the machine (see zone_sizing.h).

#ifndef ZONEALLOC_CORE_ZONE_OPTIONS_H_
#define ZONEALLOC_CORE_ZONE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include <zonealloc/page_source.h>
#include <zonealloc/system_profile.h>

namespace zonealloc {

// The per-CPU cache front end of a Zone (see concurrency/percpu_cache.h).
enum class CpuCacheMode {
  kDefault,   // ZONEALLOC_CPU_CACHE (rseq|fallback|off, any case) if set,
              // else kRseq where RseqSupport() allows it, else kFallback. A
              // value that is none of those is ignored with a warning on
              // stderr (see internal/env.h)
  kRseq,      // restartable sequences; FailedPrecondition where unsupported
  kFallback,  // per-CPU caches behind an uncontended lock word
  kOff,       // no caches: every operation goes to the shared free list
};

std::string_view CpuCacheModeName(CpuCacheMode mode);  // "rseq", ...

// Parses ZONEALLOC_CPU_CACHE's values: "rseq", "fallback" or "off", in any
// case. InvalidArgument naming `text` otherwise.
absl::StatusOr<CpuCacheMode> ParseCpuCacheMode(std::string_view text);

// cpu_cache_blocks' default: sized by ResolveZoneOptions.
inline constexpr size_t kDefaultCpuCacheBlocks = SIZE_MAX;
// Limits on the cache sizes (a batch is staged on the stack).
inline constexpr size_t kMaxCpuCacheBlocks = 32760;  // a CPU's 256 KiB less its header
inline constexpr size_t kMaxCpuCacheBatchBlocks = 256;

struct ZoneOptions {
  // Shown in stats and errors, and the tag of the zone's overflow memory,
  // e.g. "conn". Empty is shown as "<unnamed>".
  std::string name;

  // Bytes per block; required, in (0, 16 MiB]. Rounded up to a multiple of
  // max(alignment, 8) so blocks stay aligned and can hold a free-list link.
  size_t block_size = 0;

  // Alignment of every block: a power of two, at most 4096.
  size_t alignment = alignof(std::max_align_t);

  // Blocks in the initial zone. 0: sized from SystemProfile::Current() by
  // DefaultZoneBlocks().
  size_t initial_blocks = 0;

  // The most blocks the zone may ever hold permanently; bounds the address
  // range reserved for it (address space only: blocks are committed as the
  // zone extends). 0: as many as the machine's default permanent budget
  // (DefaultPermanentBudgetBytes) could pay for, at least 64 x
  // initial_blocks, within the limits below. The service's budget is what
  // really bounds extension.
  size_t max_blocks = 0;

  // The least blocks a permanent extension (ExExtendZone) adds. 0: the
  // initial size. See extension_policy.h for when a zone extends.
  size_t extension_blocks = 0;

  // An extension adds max(extension_blocks, this percent of the blocks the
  // zone holds), within max_blocks; when the service's budget refuses that
  // much, it adds extension_blocks. With the default 50, a zone whose
  // demand keeps rising extends about log1.5(demand / initial) times instead
  // of (demand / extension_blocks) times, each extension costing a full
  // episode's overflow allocations and slow-path trips; what it commits
  // beyond its peak demand stays under a third of the zone (under
  // extension_blocks when that is larger; with CPU caches, plus the less
  // than a batch they may hold when it extends). Its pages become resident
  // only as blocks are used (see zone.h, "Prefault ahead"), but the budget
  // is charged for all of it: zones that share a service's budget should
  // bound a large one with max_blocks. 0: fixed steps of extension_blocks.
  // At most 100 (a zone doubles at most).
  size_t extension_growth_percent = 50;

  // A full zone extends only once this many overflow allocations were made
  // since it was last not full, and all of them are still in use. At least 1.
  size_t extend_after_overflow_allocations = 2;

  // The most temporary overflow blocks in use at once. 0: unlimited. A zone
  // that may extend (max_blocks > initial_blocks) needs at least
  // extend_after_overflow_allocations, else InvalidArgument. A full zone at
  // this cap extends, as the rule would have it once that many overflow
  // blocks are in use, also in a full episode that began after the cap
  // filled; where max_blocks or the service budget refuse, Allocate()
  // returns nullptr.
  size_t max_overflow_blocks = 0;

  // Blocks per overflow slab. 0: as many as fill 16 KiB, within [4, 256].
  size_t overflow_slab_blocks = 0;

  // Zone only (an UnsynchronizedZone has no caches, whatever this and
  // ZONEALLOC_CPU_CACHE say). Per-CPU caches in front of the shared zone.
  CpuCacheMode cpu_cache = CpuCacheMode::kDefault;

  // Blocks each CPU's cache starts out able to hold (its initial depth); 0
  // disables the caches. The default: 32 KiB of blocks, within [8, 512],
  // and at most a quarter of initial_blocks per CPU so caches cannot hoard a
  // small zone; below 4 blocks, no caches.
  size_t cpu_cache_blocks = kDefaultCpuCacheBlocks;

  // How deep one CPU's cache may grow while it keeps missing or flushing
  // (adaptive depth; a drain, e.g. of an idle CPU, puts it back to
  // cpu_cache_blocks). 0: the default, kMaxCpuCacheBlocks, so a thread whose
  // working set is up to that many blocks and within the bound on all
  // caches together (below) runs from its CPU's cache alone. Set it to
  // cpu_cache_blocks for fixed-depth caches. Whatever the depths, all CPUs'
  // caches together hold at most max(capacity - CPUs x
  // cpu_cache_batch_blocks, half the capacity, CPUs x cpu_cache_blocks)
  // blocks (ZoneStats::cpu_cache_bound_blocks): all of the zone but a batch
  // per possible CPU, so that, where that term is the largest and no block
  // is in use, every CPU can refill once without a drain. The bound rises as
  // the zone extends (it never falls), so a thread whose working set
  // outgrew the first size still runs from its cache. What caches hold is
  // not lost to other CPUs: a CPU that finds the shared zone empty drains
  // them when they hold a batch in all, so the zone overflows or extends
  // only while they hold less.
  size_t cpu_cache_max_blocks = 0;

  // Blocks moved between a CPU's cache and the shared zone at once (a
  // refill on an empty cache, a flush from a full one). 0: half the cache,
  // at most kMaxCpuCacheBatchBlocks.
  size_t cpu_cache_batch_blocks = 0;

  // Where the zone's pages come from. nullptr: DefaultPageSource() (mmap).
  PageSource* page_source = nullptr;

  // Zone only. Checks for misuse at run time, whatever the build:
  //   - a freed block is filled with kFreedBlockFill, verified when the
  //     block is handed out again, so a write after free aborts with the
  //     zone's name, the block's address and the offset written (an
  //     overflow block's first 8 bytes hold its slab's free-list link and
  //     are not checked);
  //   - a double free aborts, naming the zone and the block (an overflow
  //     block: naming its slab's overflow tag, which names the zone).
  // (Foreign pointers abort in every zone.) The price: a debug-checked zone
  // runs without CPU caches (cpu_cache is forced to kOff), so every
  // Allocate() and Free() takes the out-of-line checked path, and its
  // initial segment and extensions are filled when created. Zones with
  // rseq caches pay nothing for the option; others (fallback caches, no
  // caches) pay one predictable branch. std::nullopt: ZONEALLOC_DEBUG
  // (1/0, on/off, true/false, yes/no) if set, else off; a bad value is
  // ignored with a warning on stderr (see internal/env.h).
  std::optional<bool> debug_checks;
};

// The byte a debug-checked zone fills its free blocks with.
inline constexpr unsigned char kFreedBlockFill = 0xDB;

// Parses ZONEALLOC_DEBUG's values: 1, on, true, yes or 0, off, false, no,
// in any case. InvalidArgument naming `text` otherwise.
absl::StatusOr<bool> ParseDebugChecks(std::string_view text);

// The most ZoneOptions::extension_growth_percent may be.
inline constexpr size_t kMaxExtensionGrowthPercent = 100;

// The least factor applied to initial_blocks when max_blocks is 0.
inline constexpr size_t kDefaultMaxBlocksFactor = 64;

// Validates `options` and fills in its defaults: the returned copy has
// block_size rounded, initial_blocks, max_blocks, extension_blocks,
// overflow_slab_blocks and the cache sizes set, cpu_cache kOff or a concrete
// mode (kOff when debug_checks), debug_checks set, and a page source.
// FailedPrecondition when kRseq is asked for (in cpu_cache or
// ZONEALLOC_CPU_CACHE) and unsupported, unless debug_checks turns the
// caches off.
// InvalidArgument naming the field and its value when an option is bad,
// including a cpu_cache outside CpuCacheMode.
absl::StatusOr<ZoneOptions> ResolveZoneOptions(const ZoneOptions& options,
                                               const SystemProfile& profile);

// The name as shown: options.name, or "<unnamed>".
std::string ZoneDisplayName(const ZoneOptions& options);

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_OPTIONS_H_
