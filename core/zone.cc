#include <zonealloc/zone.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace zonealloc {
namespace {

// Debug-build states of links[i] while block i is not on the free list.
constexpr uint32_t kAllocatedMark = kNoIndex - 1;
constexpr uint32_t kFreeingMark = kNoIndex - 2;

// Links `count` blocks from `first` into a chain for PushChain.
void LinkChain(std::atomic<uint32_t>* links, uint32_t first, uint32_t count) {
  for (uint32_t i = first; i + 1 < first + count; ++i) {
    // relaxed: published by PushChain's release CAS.
    links[i].store(i + 1, std::memory_order_relaxed);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Zone>> Zone::Create(const ZoneOptions& options) {
  return ZoneService::Default().CreateZone(options);
}

Zone::Zone(const ZoneOptions& resolved, internal::BlockRegion region, ZoneService& service)
    : name_(ZoneDisplayName(resolved)),
      extension_blocks_(resolved.extension_blocks),
      service_(service),
      region_(std::move(region)),
      free_list_(region_.links()),
      overflow_(*resolved.page_source, absl::StrFormat("zonealloc-overflow:%s", name_),
                region_.block_size(), std::max<size_t>(resolved.alignment, 8),
                resolved.overflow_slab_blocks, resolved.max_overflow_blocks),
      policy_(resolved.extend_after_overflow_allocations) {
  // Chain in address order so the first allocations come from the lowest
  // addresses.
  const auto blocks = static_cast<uint32_t>(region_.committed_blocks());
  LinkChain(region_.links(), 0, blocks);
  free_list_.PushChain(0, blocks - 1);
}

Zone::~Zone() {
  service_.Unregister(this);
  service_.Refund(PermanentBytes(region_.committed_blocks()));
}

uint64_t Zone::PermanentBytes(size_t blocks) const {
  return uint64_t{blocks} * (region_.block_size() + sizeof(uint32_t));
}

void* Zone::AllocateSlow() {
  // acquire: see "Slow-path protocol"; read before the re-check below.
  const uint64_t epoch = not_full_epoch_.load(std::memory_order_acquire);
  SpinLockHolder hold(slow_lock_);
  // Another thread may have freed or extended while we waited.
  if (const uint32_t index = free_list_.Pop(); index != kNoIndex) return TakePermanent(index);

  policy_.Observe(epoch);
  if (policy_.ShouldExtend()) {
    if (void* block = ExtendLocked()) return block;
  }
  void* block = overflow_.Allocate();
  if (block == nullptr) return nullptr;
  policy_.OnOverflowAllocated();
  overflow_peak_ = std::max(overflow_peak_, overflow_.stats().blocks_in_use);
  // relaxed: a hint for Free(); the lock orders the spare itself.
  has_spare_.store(overflow_.has_spare(), std::memory_order_relaxed);
  return block;
}

// Commits the next segment, keeps its first block for the caller and pushes
// the rest. nullptr when refused (max_blocks, budget) or the commit failed.
void* Zone::ExtendLocked() {
  const size_t old_blocks = region_.committed_blocks();
  const size_t blocks = std::min(extension_blocks_, region_.max_blocks() - old_blocks);
  const uint64_t bytes = PermanentBytes(blocks);
  if (blocks == 0 || !service_.TryCharge(bytes)) {
    ++extension_refusals_;
    return nullptr;
  }
  if (!region_.Grow(blocks)) {
    service_.Refund(bytes);
    return nullptr;
  }
  ++extensions_;
  policy_.OnExtended();
  const auto first = static_cast<uint32_t>(old_blocks);
  if (blocks > 1) {
    LinkChain(region_.links(), first + 1, static_cast<uint32_t>(blocks - 1));
    free_list_.PushChain(first + 1, static_cast<uint32_t>(first + blocks - 1));
  }
  // The zone is not full any more.
  // release: see "Slow-path protocol".
  not_full_epoch_.fetch_add(1, std::memory_order_release);
  overflow_.ReleaseSpare();
  // relaxed: written under the lock; a hint for Free().
  has_spare_.store(false, std::memory_order_relaxed);
  return TakePermanent(first);
}

void Zone::FreeSlow(void* block) {
  SpinLockHolder hold(slow_lock_);
  if (!overflow_.Free(block, /*zone_has_free_blocks=*/!free_list_.Empty())) {
    CrashOnForeignFree(block);
  }
  policy_.OnOverflowFreed();
  // relaxed: a hint for Free(); the lock orders the spare itself.
  has_spare_.store(overflow_.has_spare(), std::memory_order_relaxed);
}

// A Free() just pushed onto an empty free list: the zone has free blocks
// again, which ends the full episode and sends any spare slab back.
void Zone::OnNoLongerFull() {
  // release: see "Slow-path protocol".
  not_full_epoch_.fetch_add(1, std::memory_order_release);
  // relaxed: a hint; a spare missed here goes back on the next overflow free.
  if (!has_spare_.load(std::memory_order_relaxed)) return;
  SpinLockHolder hold(slow_lock_);
  overflow_.ReleaseSpare();
  has_spare_.store(false, std::memory_order_relaxed);
}

bool Zone::Owns(const void* p) const {
  if (region_.Contains(p)) return true;
  SpinLockHolder hold(slow_lock_);
  return overflow_.Owns(p);
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
  stats.permanent_bytes = PermanentBytes(stats.capacity_blocks);
  // relaxed: statistics.
  const auto permanent_in_use =
      static_cast<size_t>(std::max<int64_t>(0, in_use_->load(std::memory_order_relaxed)));
  const auto permanent_peak = static_cast<size_t>(peak_in_use_.load(std::memory_order_relaxed));
  SpinLockHolder hold(slow_lock_);
  const OverflowStats overflow = overflow_.stats();
  stats.tag = overflow_.tag();
  stats.in_use_blocks = permanent_in_use + overflow.blocks_in_use;
  stats.peak_in_use_blocks = permanent_peak + overflow_peak_;
  stats.overflow_blocks_in_use = overflow.blocks_in_use;
  stats.overflow_allocations = overflow.allocations;
  stats.overflow_slabs_live = overflow.slabs_live;
  stats.overflow_slabs_created = overflow.slabs_created;
  stats.overflow_slabs_released = overflow.slabs_released;
  stats.extensions = extensions_;
  stats.extension_refusals = extension_refusals_;
  return stats;
}

}  // namespace zonealloc
