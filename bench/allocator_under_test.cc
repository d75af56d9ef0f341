// SPDX-License-Identifier: Apache-2.0
#include "bench/allocator_under_test.h"

#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
// tbb::memory_pool is a preview feature: CMake defines TBB_PREVIEW_MEMORY_POOL=1.
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>

#include "oneapi/tbb/memory_pool.h"

namespace zonealloc::bench {

size_t ZoneInitialBlocks(ZoneKind kind, size_t max_live_blocks) {
  switch (kind) {
    case ZoneKind::kInterlocked:
      // Zone overflows and extends when full. 0: it starts at the modest
      // size DefaultZoneBlocks() picks for this machine, as a program would
      // create it; a scenario that keeps more blocks alive (burst; larson
      // and batch at many threads) overflows and extends it, and that is
      // part of what the scenario measures.
      return 0;
    case ZoneKind::kUnsynchronized:
      // UnsynchronizedZone returns nullptr when full (no overflow yet), and
      // the scenario would report the failure: size it to the working set.
      // Once it overflows too, return 0 here as well.
      return max_live_blocks;
  }
  return max_live_blocks;
}

namespace {

// Alignment asked of the allocators that take one: what malloc guarantees.
constexpr size_t kAlignment = alignof(std::max_align_t);

// zonealloc::Zone, one per block size, shared by all threads.
class ZoneSource final : public BlockSource {
 public:
  explicit ZoneSource(std::unique_ptr<Zone> zone) : zone_(std::move(zone)) {}
  void* Allocate() override { return zone_->Allocate(); }
  void Free(void* block) override { zone_->Free(block); }
  std::optional<int64_t> InUseBlocks() const override {
    return static_cast<int64_t>(zone_->Stats().in_use_blocks);
  }
  std::optional<ZoneCounters> Counters() const override {
    const ZoneStats stats = zone_->Stats();
    return ZoneCounters{
        .capacity_blocks = static_cast<int64_t>(stats.capacity_blocks),
        .overflow_blocks_in_use = static_cast<int64_t>(stats.overflow_blocks_in_use),
        .overflow_allocations = static_cast<int64_t>(stats.overflow_allocations),
        .overflow_slabs_live = static_cast<int64_t>(stats.overflow_slabs_live),
        .extensions = static_cast<int64_t>(stats.extensions),
        .slow_path_entries = static_cast<int64_t>(stats.slow_path_entries),
        .cache_drains = static_cast<int64_t>(stats.cache_drains)};
  }

 private:
  std::unique_ptr<Zone> zone_;
};

// zonealloc::UnsynchronizedZone: one thread at a time.
class UnsynchronizedZoneSource final : public BlockSource {
 public:
  explicit UnsynchronizedZoneSource(std::unique_ptr<UnsynchronizedZone> zone)
      : zone_(std::move(zone)) {}
  void* Allocate() override { return zone_->Allocate(); }
  void Free(void* block) override { zone_->Free(block); }
  std::optional<int64_t> InUseBlocks() const override {
    return static_cast<int64_t>(zone_->Stats().in_use_blocks);
  }

 private:
  std::unique_ptr<UnsynchronizedZone> zone_;
};

// Plain malloc/free: whichever malloc the process has (LD_PRELOAD decides).
class MallocSource final : public BlockSource {
 public:
  explicit MallocSource(size_t block_size) : block_size_(block_size) {}
  void* Allocate() override { return std::malloc(block_size_); }
  void Free(void* block) override { std::free(block); }

 private:
  size_t block_size_;
};

// tbb::memory_pool over std::allocator: tbbmalloc's pool front end.
class TbbPoolSource final : public BlockSource {
 public:
  explicit TbbPoolSource(size_t block_size) : block_size_(block_size) {}
  void* Allocate() override { return pool_.malloc(block_size_); }
  void Free(void* block) override { pool_.free(block); }

 private:
  size_t block_size_;
  tbb::memory_pool<std::allocator<char>> pool_;
};

// A std::pmr pool resource (synchronized or not) over the default upstream.
template <typename PoolResource>
class PmrSource final : public BlockSource {
 public:
  explicit PmrSource(size_t block_size) : block_size_(block_size) {}
  void* Allocate() override { return pool_.allocate(block_size_, kAlignment); }
  void Free(void* block) override { pool_.deallocate(block, block_size_, kAlignment); }

 private:
  size_t block_size_;
  PoolResource pool_;
};

using SourceOrError = absl::StatusOr<std::unique_ptr<BlockSource>>;

// Options of a benchmark zone of `kind` for `demand`.
ZoneOptions BenchZoneOptions(ZoneKind kind, const BlockDemand& demand) {
  return {.name = absl::StrFormat("bench%d", demand.block_size),
          .block_size = demand.block_size,
          .initial_blocks = ZoneInitialBlocks(kind, demand.max_live_blocks)};
}

// A Zone with the given CPU cache front end (kDefault: rseq where the
// machine supports it, as a program gets by default).
template <CpuCacheMode kMode>
SourceOrError CreateZoneSource(const BlockDemand& demand) {
  ZoneOptions options = BenchZoneOptions(ZoneKind::kInterlocked, demand);
  options.cpu_cache = kMode;
  auto zone = Zone::Create(options);
  if (!zone.ok()) return zone.status();
  return std::make_unique<ZoneSource>(*std::move(zone));
}

// A Zone with ZoneOptions::debug_checks: every free fills the block and
// checks for a double free, every allocation verifies the fill; no CPU
// caches (the checks turn them off).
SourceOrError CreateDebugZoneSource(const BlockDemand& demand) {
  ZoneOptions options = BenchZoneOptions(ZoneKind::kInterlocked, demand);
  options.debug_checks = true;
  auto zone = Zone::Create(options);
  if (!zone.ok()) return zone.status();
  return std::make_unique<ZoneSource>(*std::move(zone));
}

SourceOrError CreateUnsynchronizedZoneSource(const BlockDemand& demand) {
  auto zone = UnsynchronizedZone::Create(BenchZoneOptions(ZoneKind::kUnsynchronized, demand));
  if (!zone.ok()) return zone.status();
  return std::make_unique<UnsynchronizedZoneSource>(*std::move(zone));
}

template <typename Source>
SourceOrError CreateSimpleSource(const BlockDemand& demand) {
  return std::make_unique<Source>(demand.block_size);
}

struct KindEntry {
  AllocatorKind kind;
  SourceOrError (*create)(const BlockDemand&);
};

constexpr KindEntry kKinds[] = {
    {{"zone", "zonealloc::Zone, default per-CPU caches (rseq where supported)", true},
     CreateZoneSource<CpuCacheMode::kDefault>},
    {{"zone_fallback", "zonealloc::Zone, per-CPU caches behind a lock word", true},
     CreateZoneSource<CpuCacheMode::kFallback>},
    {{"zone_nocache", "zonealloc::Zone without caches (shared lock-free list)", true},
     CreateZoneSource<CpuCacheMode::kOff>},
    {{"zone_debug", "zonealloc::Zone with debug_checks (fill, verify, double free; no caches)",
      true},
     CreateDebugZoneSource},
    {{"unsync", "zonealloc::UnsynchronizedZone (one thread)", false},
     CreateUnsynchronizedZoneSource},
    {{"malloc", "malloc/free (glibc, or the LD_PRELOADed malloc)", true},
     CreateSimpleSource<MallocSource>},
    {{"tbb_pool", "tbb::memory_pool<std::allocator<char>>", true},
     CreateSimpleSource<TbbPoolSource>},
    {{"pmr_sync", "std::pmr::synchronized_pool_resource", true},
     CreateSimpleSource<PmrSource<std::pmr::synchronized_pool_resource>>},
    {{"pmr_unsync", "std::pmr::unsynchronized_pool_resource (one thread)", false},
     CreateSimpleSource<PmrSource<std::pmr::unsynchronized_pool_resource>>},
};

}  // namespace

AllocatorUnderTest::AllocatorUnderTest(std::string name, bool thread_safe,
                                       std::vector<SizedSource> sources)
    : name_(std::move(name)), thread_safe_(thread_safe), sources_(std::move(sources)) {}

BlockSource& AllocatorUnderTest::ForSize(size_t block_size) {
  for (SizedSource& sized : sources_) {
    if (sized.block_size == block_size) return *sized.source;
  }
  std::fprintf(stderr, "allocator %s has no source of %zu-byte blocks\n", name_.c_str(),
               block_size);
  std::abort();
}

std::optional<int64_t> AllocatorUnderTest::InUseBlocks() const {
  int64_t total = 0;
  for (const SizedSource& sized : sources_) {
    std::optional<int64_t> in_use = sized.source->InUseBlocks();
    if (!in_use.has_value()) return std::nullopt;
    total += *in_use;
  }
  return total;
}

std::optional<ZoneCounters> AllocatorUnderTest::SummedZoneCounters() const {
  ZoneCounters total;
  for (const SizedSource& sized : sources_) {
    std::optional<ZoneCounters> counters = sized.source->Counters();
    if (!counters.has_value()) return std::nullopt;
    total.Add(*counters);
  }
  return total;
}

std::span<const AllocatorKind> AllAllocatorKinds() {
  static const std::vector<AllocatorKind> kinds = [] {
    std::vector<AllocatorKind> result;
    for (const KindEntry& entry : kKinds) result.push_back(entry.kind);
    return result;
  }();
  return kinds;
}

absl::StatusOr<std::unique_ptr<AllocatorUnderTest>> CreateAllocatorUnderTest(
    std::string_view name, std::span<const BlockDemand> demand) {
  for (const KindEntry& entry : kKinds) {
    if (entry.kind.name != name) continue;
    std::vector<AllocatorUnderTest::SizedSource> sources;
    for (const BlockDemand& one : demand) {
      SourceOrError source = entry.create(one);
      if (!source.ok()) return source.status();
      sources.push_back({one.block_size, *std::move(source)});
    }
    return std::make_unique<AllocatorUnderTest>(std::string(name), entry.kind.thread_safe,
                                                std::move(sources));
  }
  std::vector<std::string> names;
  for (const KindEntry& entry : kKinds) names.emplace_back(entry.kind.name);
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown allocator '%s' (known: %s)", name, absl::StrJoin(names, ", ")));
}

}  // namespace zonealloc::bench
