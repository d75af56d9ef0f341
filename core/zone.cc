#include <zonealloc/zone.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace zonealloc {
namespace {

// Debug-build states of links[i] while block i is not on the free list.
constexpr uint32_t kAllocatedMark = kNoIndex - 1;
constexpr uint32_t kFreeingMark = kNoIndex - 2;

}  // namespace

absl::StatusOr<std::unique_ptr<Zone>> Zone::Create(const ZoneOptions& options) {
  absl::StatusOr<ZoneOptions> resolved = ResolveZoneOptions(options, SystemProfile::Current());
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<internal::BlockRegion> region = internal::BlockRegion::Create(
      *resolved->page_source, ZoneDisplayName(*resolved), resolved->block_size,
      resolved->initial_blocks, resolved->max_blocks);
  if (!region.ok()) return region.status();
  return std::unique_ptr<Zone>(new Zone(*resolved, *std::move(region)));
}

Zone::Zone(const ZoneOptions& resolved, internal::BlockRegion region)
    : name_(ZoneDisplayName(resolved)),
      region_(std::move(region)),
      free_list_(region_.links()) {
  // Push in reverse so the first allocations come from the lowest addresses.
  const auto blocks = static_cast<uint32_t>(region_.committed_blocks());
  std::atomic<uint32_t>* links = region_.links();
  for (uint32_t i = 0; i + 1 < blocks; ++i) {
    // relaxed: the zone is not shared yet; PushChain publishes with release.
    links[i].store(i + 1, std::memory_order_relaxed);
  }
  free_list_.PushChain(0, blocks - 1);
}

void Zone::RaisePeak(int64_t in_use) {
  // relaxed: a statistic; only needs to end at the maximum.
  int64_t peak = peak_in_use_.load(std::memory_order_relaxed);
  while (in_use > peak &&
         !peak_in_use_.compare_exchange_weak(peak, in_use, std::memory_order_relaxed)) {
  }
}

void Zone::MarkAllocated(uint32_t index) {
  // relaxed: only this thread owns the block now; the mark is for itself.
  region_.links()[index].store(kAllocatedMark, std::memory_order_relaxed);
}

void Zone::CheckAndMarkFree(uint32_t index) {
  // relaxed: the exchange is atomic, so of two racing frees exactly one sees
  // the allocated mark; the other, like any free of a free block, aborts.
  const uint32_t previous =
      region_.links()[index].exchange(kFreeingMark, std::memory_order_relaxed);
  if (previous != kAllocatedMark) {
    internal::Crash(absl::StrFormat("zone '%s': double free of block %p (index %d)", name_,
                                    region_.BlockAt(index), index));
  }
}

void Zone::CrashOnForeignFree(const void* block) const {
  if (region_.InReservedRange(block)) {
    internal::Crash(absl::StrFormat(
        "zone '%s': Free(%p) is not the start of a committed block of %d bytes", name_, block,
        region_.block_size()));
  }
  internal::Crash(absl::StrFormat("zone '%s': Free(%p) of a pointer this zone does not own",
                                  name_, block));
}

ZoneStats Zone::Stats() const {
  ZoneStats stats;
  stats.name = name_;
  stats.block_size = region_.block_size();
  stats.capacity_blocks = region_.committed_blocks();
  // relaxed: statistics.
  stats.in_use_blocks = static_cast<size_t>(std::max<int64_t>(0, in_use_->load(std::memory_order_relaxed)));
  stats.peak_in_use_blocks = static_cast<size_t>(peak_in_use_.load(std::memory_order_relaxed));
  return stats;
}

}  // namespace zonealloc
