// SPDX-License-Identifier: Apache-2.0
// ZoneService owns the zones of a process or subsystem and the permanent
// memory budget they share: the guidelines' nonpaged pool, which a driver
// that extends its zone on every full zone would exhaust.
//
// Every zone's permanent memory (its initial segment and its extensions,
// blocks plus 5 bytes each of link and batch slot) is charged to its service. An
// extension that would pass the budget is tried again at its least size
// (ZoneOptions::extension_blocks), then refused and counted, and the zone
// keeps working on temporary overflow, which is not charged: it is given back.
//
//   ZoneService& service = ZoneService::Default();   // process-wide
//   auto zone = service.CreateZone({.name = "conn", .block_size = 256});
//   std::cout << service.DumpText();                 // like /proc/slabinfo
//
// A service made with Create() has its own budget (tests, an isolated
// subsystem). A service must outlive its zones; destroying one that still
// has zones, UnsynchronizedZones included, aborts.
//
// Every live service is known to fork() handlers that keep its zones
// usable in a forked child (see zone.h, "fork()").

#ifndef ZONEALLOC_CORE_ZONE_SERVICE_H_
#define ZONEALLOC_CORE_ZONE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include <zonealloc/concurrency/spinlock.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {

class Zone;
struct ForkHandlers;

struct ZoneServiceOptions {
  std::string name = "default";
  // Bytes of permanent zone memory all zones together may hold. 0: sized
  // from SystemProfile::Current() by DefaultPermanentBudgetBytes().
  uint64_t permanent_budget_bytes = 0;
};

struct ServiceSnapshot {
  std::string name;
  uint64_t budget_bytes = 0;
  uint64_t permanent_bytes = 0;  // charged to the budget now
  std::vector<ZoneStats> zones;  // in creation order
  // Once KeepDestroyedZoneStats() was called: the final stats of zones
  // destroyed since, oldest first, and how many older ones were dropped.
  std::vector<ZoneStats> destroyed_zones;
  uint64_t destroyed_zones_dropped = 0;
};

class ZoneService {
 public:
  static absl::StatusOr<std::unique_ptr<ZoneService>> Create(const ZoneServiceOptions& options);

  // The process-wide service used by Zone::Create(). Its budget is the
  // environment variable ZONEALLOC_BUDGET if set (bytes, or with a K, M, G
  // or T suffix in any case: "256M"), else
  // DefaultPermanentBudgetBytes(SystemProfile::Current()). A ZONEALLOC_BUDGET
  // that is not a byte count, or is 0, is ignored with a warning on stderr
  // (see internal/env.h) and the default used. Never destroyed.
  //
  // ZONEALLOC_STATS=stderr|PATH: at exit() (or return from main) of the
  // process that created it, this service's DumpText() goes to stderr or
  // to the file PATH (ToJson() where PATH ends in ".json"), zones destroyed
  // before then included (see KeepDestroyedZoneStats()). A failed write is
  // reported on stderr. See internal/stats_at_exit.h.
  static ZoneService& Default();

  ~ZoneService();
  ZoneService(const ZoneService&) = delete;
  ZoneService& operator=(const ZoneService&) = delete;

  // As Zone::Create, charging the zone's initial segment to this service:
  // InvalidArgument when it does not fit the budget that is left.
  absl::StatusOr<std::unique_ptr<Zone>> CreateZone(const ZoneOptions& options);

  const std::string& name() const { return name_; }
  uint64_t budget_bytes() const { return budget_bytes_; }
  uint64_t permanent_bytes() const {
    // relaxed: a statistic.
    return permanent_bytes_.load(std::memory_order_relaxed);
  }

  ServiceSnapshot Snapshot() const;

  // One row per zone, with its overflow tag, like /proc/slabinfo, then a
  // row per destroyed zone kept (KeepDestroyedZoneStats()) and the CPU
  // caches that saw use.
  std::string DumpText() const;

  // Snapshot() for programs: every field of every zone, per-CPU rows and
  // the budget, as one JSON object, or in the Prometheus text format. The
  // names are listed in stats_export.h.
  std::string ToJson() const;
  std::string ToPrometheusText() const;

  // From now on, a zone of this service records its final stats when it is
  // destroyed, and Snapshot() lists them in destroyed_zones (the latest
  // kMaxDestroyedZones; older ones are counted in destroyed_zones_dropped),
  // so a report made at exit still shows zones destroyed before it. Off
  // unless called: ZONEALLOC_STATS calls it for Default().
  void KeepDestroyedZoneStats();
  static constexpr size_t kMaxDestroyedZones = 1024;

 private:
  friend class Zone;
  friend class UnsynchronizedZone;
  friend struct ForkHandlers;
  ZoneService(std::string name, uint64_t budget_bytes);

  // Charges a zone's initial segment and reserves its region; on failure
  // charges nothing. InvalidArgument past the budget.
  absl::StatusOr<internal::BlockRegion> ChargeAndReserve(const ZoneOptions& resolved);
  // Charges `bytes` of permanent memory if the budget allows; false if not.
  bool TryCharge(uint64_t bytes);
  void Refund(uint64_t bytes);
  // A dying zone's region: unmaps it and refunds its permanent bytes. When
  // the page source refuses, the region stays mapped for good (no retry)
  // and its bytes stay charged, and stderr says so.
  void UnmapAndRefund(internal::BlockRegion& region, std::string_view zone_name);
  void Unregister(const Zone* zone);

  const std::string name_;
  const uint64_t budget_bytes_;
  std::atomic<uint64_t> permanent_bytes_{0};
  // UnsynchronizedZones alive, which zones_ does not list (they take no
  // part in fork() handling or DumpText()); each counts itself.
  std::atomic<int> unsynchronized_zones_{0};
  // A spinlock rather than a mutex so fork() can take and release it
  // (zone.h, "Lock order"); held briefly, across Stats() in Snapshot().
  mutable SpinLock mu_;
  std::vector<Zone*> zones_ ABSL_GUARDED_BY(mu_);
  // Set once, by KeepDestroyedZoneStats(); read without mu_ by Unregister().
  std::atomic<bool> keep_destroyed_{false};
  std::deque<ZoneStats> destroyed_ ABSL_GUARDED_BY(mu_);
  uint64_t destroyed_dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

// Parses a byte count: digits with an optional K, M, G or T suffix (powers
// of 1024), e.g. "268435456", "256M", "1G". InvalidArgument naming `text`.
absl::StatusOr<uint64_t> ParseByteCount(std::string_view text);

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_ZONE_SERVICE_H_
