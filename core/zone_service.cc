#include <zonealloc/zone_service.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include <zonealloc/internal/block_region.h>
#include <zonealloc/internal/checks.h>
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
    uint64_t budget = DefaultPermanentBudgetBytes(SystemProfile::Current());
    if (const char* env = std::getenv("ZONEALLOC_BUDGET"); env != nullptr && *env != '\0') {
      absl::StatusOr<uint64_t> parsed = ParseByteCount(env);
      if (!parsed.ok() || *parsed == 0) {
        internal::Crash(absl::StrFormat("ZONEALLOC_BUDGET: %s",
                                        parsed.ok() ? "must be more than 0" : parsed.status().message()));
      }
      budget = *parsed;
    }
    return new ZoneService("default", budget);
  }();
  return *service;
}

ZoneService::ZoneService(std::string name, uint64_t budget_bytes)
    : name_(std::move(name)), budget_bytes_(budget_bytes) {}

ZoneService::~ZoneService() {
  absl::MutexLock lock(&mu_);
  if (!zones_.empty()) {
    internal::Crash(absl::StrFormat("ZoneService '%s' destroyed while zone '%s' still lives",
                                    name_, zones_.front()->name()));
  }
}

absl::StatusOr<std::unique_ptr<Zone>> ZoneService::CreateZone(const ZoneOptions& options) {
  absl::StatusOr<ZoneOptions> resolved = ResolveZoneOptions(options, SystemProfile::Current());
  if (!resolved.ok()) return resolved.status();
  const uint64_t initial_bytes =
      internal::BlockRegion::PermanentBytes(resolved->block_size, resolved->initial_blocks);
  if (!TryCharge(initial_bytes)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "zone '%s': initial segment of %d bytes does not fit the %d bytes left of service "
        "'%s' budget (%d bytes)",
        ZoneDisplayName(*resolved), initial_bytes, budget_bytes_ - permanent_bytes(), name_,
        budget_bytes_));
  }
  absl::StatusOr<internal::BlockRegion> region = internal::BlockRegion::Create(
      *resolved->page_source, ZoneDisplayName(*resolved), resolved->block_size,
      resolved->initial_blocks, resolved->max_blocks);
  if (!region.ok()) {
    Refund(initial_bytes);
    return region.status();
  }
  // The CPU caches: one mapping, as many 64-byte-aligned caches as CPUs.
  void* cache_memory = nullptr;
  size_t cache_bytes = 0;
  if (resolved->cpu_cache != CpuCacheMode::kOff) {
    cache_bytes = PerCpuCache::BytesFor(PerCpuCache::PossibleCpus(),
                                        static_cast<uint32_t>(resolved->cpu_cache_blocks));
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
  absl::MutexLock lock(&mu_);
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

void ZoneService::Unregister(const Zone* zone) {
  absl::MutexLock lock(&mu_);
  auto it = std::find(zones_.begin(), zones_.end(), zone);
  if (it != zones_.end()) zones_.erase(it);
}

ServiceSnapshot ZoneService::Snapshot() const {
  ServiceSnapshot snapshot{.name = name_, .budget_bytes = budget_bytes_};
  absl::MutexLock lock(&mu_);
  snapshot.permanent_bytes = permanent_bytes();
  for (const Zone* zone : zones_) snapshot.zones.push_back(zone->Stats());
  return snapshot;
}

std::string ZoneService::DumpText() const {
  const ServiceSnapshot snapshot = Snapshot();
  std::string text = absl::StrFormat(
      "# zonealloc service '%s': permanent %d of %d budget bytes, %d zones\n"
      "# %-16s %-32s %6s %9s %9s %9s %7s %6s %8s %8s %5s %7s %12s\n",
      snapshot.name, snapshot.permanent_bytes, snapshot.budget_bytes, snapshot.zones.size(),
      "name", "tag", "bsize", "capacity", "in_use", "peak", "ovf_use", "slabs", "created",
      "released", "ext", "refused", "perm_bytes");
  for (const ZoneStats& z : snapshot.zones) {
    absl::StrAppendFormat(&text, "  %-16s %-32s %6d %9d %9d %9d %7d %6d %8d %8d %5d %7d %12d\n",
                          z.name, z.tag, z.block_size, z.capacity_blocks, z.in_use_blocks,
                          z.peak_in_use_blocks, z.overflow_blocks_in_use, z.overflow_slabs_live,
                          z.overflow_slabs_created, z.overflow_slabs_released, z.extensions,
                          z.extension_refusals, z.permanent_bytes);
  }
  // The CPU caches of each zone that has them, CPUs that saw no use left out.
  for (const ZoneStats& z : snapshot.zones) {
    if (z.cpu_caches.empty()) continue;
    absl::StrAppendFormat(&text, "# %s: %s CPU caches, %d blocks cached\n#   %4s %12s %9s %9s %9s %7s %6s\n",
                          z.name, z.cpu_cache_mode, z.cached_blocks, "cpu", "hits", "misses",
                          "refills", "flushes", "drains", "blocks");
    for (size_t cpu = 0; cpu < z.cpu_caches.size(); ++cpu) {
      const CpuCacheStats& c = z.cpu_caches[cpu];
      if (c.hits == 0 && c.misses == 0 && c.drains == 0) continue;
      absl::StrAppendFormat(&text, "    %4d %12d %9d %9d %9d %7d %6d\n", cpu, c.hits, c.misses,
                            c.refills, c.flushes, c.drains, c.blocks);
    }
  }
  return text;
}

}  // namespace zonealloc
