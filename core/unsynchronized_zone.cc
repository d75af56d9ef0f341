// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/unsynchronized_zone.h>

#include <utility>

#include <zonealloc/internal/crash_format.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc {
namespace {

constexpr uint32_t kFreeMark = 0;
constexpr uint32_t kAllocatedMark = 1;

}  // namespace

absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> UnsynchronizedZone::Create(
    const ZoneOptions& options) {
  return Create(options, ZoneService::Default());
}

absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> UnsynchronizedZone::Create(
    const ZoneOptions& options, ZoneService& service) {
  // No CPU caches: a ZONEALLOC_CPU_CACHE=rseq where rseq is missing, say,
  // is no reason to fail.
  ZoneOptions without_caches = options;
  without_caches.cpu_cache = CpuCacheMode::kOff;
  absl::StatusOr<ZoneOptions> resolved =
      ResolveZoneOptions(without_caches, SystemProfile::Current());
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<internal::BlockRegion> region = service.ChargeAndReserve(*resolved);
  if (!region.ok()) return region.status();
  return std::unique_ptr<UnsynchronizedZone>(
      new UnsynchronizedZone(*resolved, *std::move(region), service));
}

// BlockRegion::Grow() zeroed the links: every block starts as kFreeMark.
UnsynchronizedZone::UnsynchronizedZone(const ZoneOptions& resolved, internal::BlockRegion region,
                                       ZoneService& service)
    : name_(ZoneDisplayName(resolved)), service_(service), region_(std::move(region)) {
  internal::CreateBlockPool(this);
  internal::HideUntouchedBlocks(region_.BlockAt(0),
                                region_.committed_blocks() * region_.block_size());
  // relaxed: the service's destructor checks it (see there).
  service_.unsynchronized_zones_.fetch_add(1, std::memory_order_relaxed);
}

UnsynchronizedZone::~UnsynchronizedZone() {
  // Leak report: blocks still in use become invalid now; say how many.
  if (in_use_ > 0) {
    internal::ReportToStderr("zonealloc: zone '%s' destroyed with %zu blocks in use (%zu bytes)\n",
                             name_.c_str(), in_use_, in_use_ * region_.block_size());
  }
  internal::DestroyBlockPool(this);
  // The region is unmapped next; its addresses may be mapped again for
  // anything, which must not find them poisoned.
  // Only blocks below untouched_ were ever poisoned.
  internal::UnpoisonBeforeUnmap(region_.BlockAt(0), untouched_ * region_.block_size());
  service_.UnmapAndRefund(region_, name_);
  // relaxed: as in the constructor.
  service_.unsynchronized_zones_.fetch_sub(1, std::memory_order_relaxed);
}

void* UnsynchronizedZone::AllocateUntouched() {
  if (untouched_ == region_.committed_blocks()) return nullptr;
  return HandOut(region_.BlockAt(static_cast<uint32_t>(untouched_++)));
}

void UnsynchronizedZone::FreeForeign(void* block) {
  if (block == nullptr) return;  // as free(NULL)
  CrashOnForeignFree(block);
}

void UnsynchronizedZone::MarkAllocated(const void* block) {
  // relaxed: one thread only.
  region_.links()[region_.IndexOf(block)].store(kAllocatedMark, std::memory_order_relaxed);
}

void UnsynchronizedZone::CheckAndMarkFree(const void* block) {
  std::atomic<uint32_t>& state = region_.links()[region_.IndexOf(block)];
  // relaxed: one thread only.
  if (state.exchange(kFreeMark, std::memory_order_relaxed) != kAllocatedMark) {
    internal::CrashFormat("zone '%s': double free of block %p", name_, block);
  }
}

void UnsynchronizedZone::CrashOnForeignFree(const void* block) const {
  internal::CrashFormat("zone '%s': Free(%p) is not the start of a block of this zone", name_,
                        block);
}

ZoneStats UnsynchronizedZone::Stats() const {
  return ZoneStats{.name = name_,
                   .block_size = region_.block_size(),
                   .capacity_blocks = region_.committed_blocks(),
                   .in_use_blocks = in_use_,
                   .peak_in_use_blocks = peak_in_use_};
}

}  // namespace zonealloc
