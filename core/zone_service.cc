// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_service.h>

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
#include <zonealloc/internal/crash_format.h>
#include <zonealloc/internal/env.h>
#include <zonealloc/internal/stats_at_exit.h>
#include <zonealloc/internal/stderr_report.h>
#include <zonealloc/stats_export.h>
#include <zonealloc/system_profile.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_sizing.h>

namespace zonealloc {

absl::StatusOr<uint64_t> ParseByteCount(std::string_view text) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not a byte count like 268435456, 256M or 1G", std::string(text)));
  };
  if (text.empty()) return bad();
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: break;
  }
  std::string digits(shift == 0 ? text : text.substr(0, text.size() - 1));
  uint64_t value = 0;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &value) || (shift > 0 && value > (UINT64_MAX >> shift))) {
    return bad();
  }
  return value << shift;
}

absl::StatusOr<std::unique_ptr<ZoneService>> ZoneService::Create(
    const ZoneServiceOptions& options) {
  const uint64_t budget = options.permanent_budget_bytes != 0
                              ? options.permanent_budget_bytes
                              : DefaultPermanentBudgetBytes(SystemProfile::Current());
  return std::unique_ptr<ZoneService>(new ZoneService(options.name, budget));
}

ZoneService& ZoneService::Default() {
  static ZoneService* const service = [] {
    const uint64_t detected = DefaultPermanentBudgetBytes(SystemProfile::Current());
    const std::string instead = absl::StrFormat("the default of %d bytes", detected);
    const internal::EnvVariable budget_variable = {
        .name = "ZONEALLOC_BUDGET",
        .expected = "a byte count above 0 (like 268435456, 256M or 1G)",
        .instead = instead,
    };
    const auto parse_budget = [](std::string_view text) -> absl::StatusOr<uint64_t> {
      absl::StatusOr<uint64_t> bytes = ParseByteCount(text);
      if (bytes.ok() && *bytes == 0) return absl::InvalidArgumentError("a budget of 0 bytes");
      return bytes;
    };
    auto* created = new ZoneService(
        "default", internal::ReadEnv(budget_variable, parse_budget).value_or(detected));
    internal::WriteStatsAtExitIfAsked(*created);
    return created;
  }();
  return *service;
}

// The fork() handlers and the live services they lock. Installed once, with
// the first service; see zone.h, "fork()".
struct ForkHandlers {
  static SpinLock& lock() {
    static SpinLock* const registry_lock = new SpinLock();
    return *registry_lock;
  }
  static std::vector<ZoneService*>& services() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock()) {
    static auto* const live = new std::vector<ZoneService*>();
    return *live;
  }

  static void Add(ZoneService* service) {
    static std::once_flag installed;
    std::call_once(installed, [] {
      if (const int error = pthread_atfork(&Prepare, &Release, &Release); error != 0) {
        internal::CrashFormat("pthread_atfork failed: %s", std::strerror(error));
      }
    });
    SpinLockHolder hold(lock());
    services().push_back(service);
  }
  static void Remove(ZoneService* service) {
    SpinLockHolder hold(lock());
    std::erase(services(), service);
  }

  // Takes every lock in the documented order: the registry, then each
  // service's lock and its zones' slow-path locks and per-CPU lock words.
  // Unchecked, as is Release(): the analysis cannot name locks taken in a
  // loop over services and zones, nor a lock held across two functions.
  static void Prepare() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    lock().Lock();
    for (ZoneService* service : services()) {
      service->mu_.Lock();
      for (Zone* zone : service->zones_) zone->LockForFork();
    }
  }
  // In the parent and in the child: the forking thread holds them all.
  static void Release() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto s = services().rbegin(); s != services().rend(); ++s) {
      for (auto z = (*s)->zones_.rbegin(); z != (*s)->zones_.rend(); ++z) (*z)->UnlockAfterFork();
      (*s)->mu_.Unlock();
    }
    lock().Unlock();
  }
};

ZoneService::ZoneService(std::string name, uint64_t budget_bytes)
    : name_(std::move(name)), budget_bytes_(budget_bytes) {
  ForkHandlers::Add(this);
}

ZoneService::~ZoneService() {
  ForkHandlers::Remove(this);
  SpinLockHolder lock(mu_);
  if (!zones_.empty()) {
    internal::CrashFormat("ZoneService '%s' destroyed while zone '%s' still lives", name_,
                          zones_.front()->name());
  }
  // relaxed: the owner orders the zones' destruction before this one.
  if (const int live = unsynchronized_zones_.load(std::memory_order_relaxed); live > 0) {
    internal::CrashFormat("ZoneService '%s' destroyed while %d UnsynchronizedZones still live",
                          name_, live);
  }
}

absl::StatusOr<internal::BlockRegion> ZoneService::ChargeAndReserve(const ZoneOptions& resolved) {
  const uint64_t initial_bytes =
      internal::BlockRegion::PermanentBytes(resolved.block_size, resolved.initial_blocks);
  if (!TryCharge(initial_bytes)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "zone '%s': initial segment of %d bytes does not fit the %d bytes left of service "
        "'%s' budget (%d bytes)",
        ZoneDisplayName(resolved), initial_bytes, budget_bytes_ - permanent_bytes(), name_,
        budget_bytes_));
  }
  absl::StatusOr<internal::BlockRegion> region = internal::BlockRegion::Create(
      *resolved.page_source, ZoneDisplayName(resolved), resolved.block_size,
      resolved.initial_blocks, resolved.max_blocks);
  if (!region.ok()) Refund(initial_bytes);
  return region;
}

absl::StatusOr<std::unique_ptr<Zone>> ZoneService::CreateZone(const ZoneOptions& options) {
  absl::StatusOr<ZoneOptions> resolved = ResolveZoneOptions(options, SystemProfile::Current());
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<internal::BlockRegion> region = ChargeAndReserve(*resolved);
  if (!region.ok()) return region.status();
  const uint64_t initial_bytes =
      internal::BlockRegion::PermanentBytes(resolved->block_size, resolved->initial_blocks);
  // The CPU caches: one mapping, as many 64-byte-aligned caches as CPUs.
  void* cache_memory = nullptr;
  size_t cache_bytes = 0;
  if (resolved->cpu_cache != CpuCacheMode::kOff) {
    cache_bytes = PerCpuCache::BytesFor(PerCpuCache::PossibleCpus());
    cache_bytes = (cache_bytes + PageSize() - 1) / PageSize() * PageSize();
    cache_memory = resolved->page_source->Map(
        cache_bytes, PageSize(), absl::StrFormat("zonealloc-cpucache:%s", ZoneDisplayName(*resolved)));
    if (cache_memory == nullptr) {
      Refund(initial_bytes);
      return absl::ResourceExhaustedError(absl::StrFormat(
          "zone '%s': cannot map %d bytes of CPU caches", ZoneDisplayName(*resolved), cache_bytes));
    }
  }
  std::unique_ptr<Zone> zone(
      new Zone(*resolved, *std::move(region), *this, cache_memory, cache_bytes));
  SpinLockHolder lock(mu_);
  zones_.push_back(zone.get());
  return zone;
}

bool ZoneService::TryCharge(uint64_t bytes) {
  // relaxed: the budget guards a count, not memory contents.
  uint64_t used = permanent_bytes_.load(std::memory_order_relaxed);
  do {
    if (bytes > budget_bytes_ - used) return false;
  } while (!permanent_bytes_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void ZoneService::Refund(uint64_t bytes) {
  // relaxed: as TryCharge.
  permanent_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void ZoneService::UnmapAndRefund(internal::BlockRegion& region, std::string_view zone_name) {
  const uint64_t bytes =
      internal::BlockRegion::PermanentBytes(region.block_size(), region.committed_blocks());
  if (region.Unmap()) {
    Refund(bytes);
    return;
  }
  internal::ReportToStderr(
      "zonealloc: zone '%.*s': the page source refused to unmap its region; it stays "
      "mapped, and its %llu permanent bytes charged to service '%s': %s\n",
      static_cast<int>(zone_name.size()), zone_name.data(), static_cast<unsigned long long>(bytes),
      name_.c_str(), std::strerror(errno));
  region.Abandon();
}

void ZoneService::Unregister(const Zone* zone) {
  // The zone's final stats, taken before mu_ (Stats() allocates, and mu_ is
  // held briefly): ~Zone calls this before any member is destroyed. A
  // record that cannot be allocated is dropped and counted, not thrown out
  // of a destructor.
  std::optional<ZoneStats> final_stats;
  bool dropped = false;
  // relaxed: a switch set once; the stats are this thread's own.
  if (keep_destroyed_.load(std::memory_order_relaxed)) {
    try {
      final_stats = zone->Stats();
    } catch (const std::bad_alloc&) {
      dropped = true;
    }
  }
  SpinLockHolder lock(mu_);
  auto it = std::find(zones_.begin(), zones_.end(), zone);
  if (it != zones_.end()) zones_.erase(it);
  if (dropped) ++destroyed_dropped_;
  if (!final_stats.has_value()) return;
  try {
    destroyed_.push_back(*std::move(final_stats));
  } catch (const std::bad_alloc&) {
    ++destroyed_dropped_;
    return;
  }
  if (destroyed_.size() > kMaxDestroyedZones) {
    destroyed_.pop_front();
    ++destroyed_dropped_;
  }
}

void ZoneService::KeepDestroyedZoneStats() {
  // relaxed: see Unregister().
  keep_destroyed_.store(true, std::memory_order_relaxed);
}

ServiceSnapshot ZoneService::Snapshot() const {
  ServiceSnapshot snapshot{.name = name_, .budget_bytes = budget_bytes_};
  SpinLockHolder lock(mu_);
  snapshot.permanent_bytes = permanent_bytes();
  for (const Zone* zone : zones_) snapshot.zones.push_back(zone->Stats());
  snapshot.destroyed_zones.assign(destroyed_.begin(), destroyed_.end());
  snapshot.destroyed_zones_dropped = destroyed_dropped_;
  return snapshot;
}

std::string ZoneService::ToJson() const { return SnapshotToJson(Snapshot()); }

std::string ZoneService::ToPrometheusText() const {
  return SnapshotToPrometheusText(Snapshot());
}

std::string ZoneService::DumpText() const {
  const ServiceSnapshot snapshot = Snapshot();
  // Names and tags are C-escaped so a newline or a tab in one cannot break
  // the one-row-per-zone layout.
  std::string text = absl::StrFormat(
      "# zonealloc service '%s': permanent %d of %d budget bytes, %d zones\n"
      "# %-16s %-32s %6s %9s %9s %9s %7s %6s %11s %8s %8s %11s %5s %11s %6s %12s\n",
      absl::CEscape(snapshot.name), snapshot.permanent_bytes, snapshot.budget_bytes,
      snapshot.zones.size(), "name", "tag", "bsize", "capacity", "in_use", "peak", "ovf_use",
      "slabs", "slab_bytes", "created", "released", "unmap_fails", "ext", "ext_refused",
      "failed", "perm_bytes");
  const auto append_row = [&text](const ZoneStats& z) {
    absl::StrAppendFormat(
        &text, "  %-16s %-32s %6d %9d %9d %9d %7d %6d %11d %8d %8d %11d %5d %11d %6d %12d\n",
        absl::CEscape(z.name), absl::CEscape(z.tag), z.block_size, z.capacity_blocks,
        z.in_use_blocks, z.peak_in_use_blocks, z.overflow_blocks_in_use, z.overflow_slabs_live,
        z.overflow_mapped_bytes, z.overflow_slabs_created, z.overflow_slabs_released,
        z.overflow_unmap_failures, z.extensions, z.extension_refusals, z.allocation_failures,
        z.permanent_bytes);
  };
  for (const ZoneStats& z : snapshot.zones) append_row(z);
  if (!snapshot.destroyed_zones.empty()) {
    absl::StrAppendFormat(&text, "# destroyed zones, final stats (%d older not kept):\n",
                          snapshot.destroyed_zones_dropped);
    for (const ZoneStats& z : snapshot.destroyed_zones) append_row(z);
  }
  // The CPU caches of each zone that has them, CPUs that saw no use left out.
  for (const ZoneStats& z : snapshot.zones) {
    if (z.cpu_caches.empty()) continue;
    absl::StrAppendFormat(&text,
                          "# %s: %s CPU caches, %d blocks cached (at most %d together)\n"
                          "#   %4s %9s %9s %9s %7s %6s %6s\n",
                          absl::CEscape(z.name), z.cpu_cache_mode, z.cached_blocks,
                          z.cpu_cache_bound_blocks, "cpu", "misses", "refills", "flushes", "drains",
                          "blocks", "depth");
    for (size_t cpu = 0; cpu < z.cpu_caches.size(); ++cpu) {
      const CpuCacheStats& c = z.cpu_caches[cpu];
      if (c.misses == 0 && c.drains == 0 && c.blocks == 0) continue;
      absl::StrAppendFormat(&text, "    %4d %9d %9d %9d %7d %6d %6d\n", cpu, c.misses,
                            c.refills, c.flushes, c.drains, c.blocks, c.capacity);
    }
  }
  return text;
}

}  // namespace zonealloc
