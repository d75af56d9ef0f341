// SPDX-License-Identifier: Apache-2.0
// Formats a ServiceSnapshot for programs that read metrics: JSON for scripts
// and dashboards, and the Prometheus text exposition format (version 0.0.4)
// for a scraper. ZoneService::ToJson() and ToPrometheusText() call these;
// call them directly to format a snapshot taken earlier. DumpText() is the
// form for people.
//
// Text from zone and service names is escaped, never trusted: a name with
// quotes, backslashes or newlines stays one JSON string or one label value,
// and bytes that are not UTF-8 become U+FFFD.
//
// JSON: one object,
//   {"service": "default", "budget_bytes": N, "permanent_bytes": N,
//    "zones": [ZONE...], "destroyed_zones": [ZONE...],
//    "destroyed_zones_dropped": N}
// where each ZONE has every ZoneStats field under its C++ name (name, tag,
// block_size, ..., cached_blocks, cpu_cache_bound_blocks) and "cpu_caches": the
// CPUs whose cache saw use, [{"cpu": N, "misses": N, "refills": N,
// "flushes": N, "drains": N, "batch_moves": N, "blocks": N,
// "capacity": N}...], "capacity" being the CPU's current depth.
//
// Prometheus: every series has service="..." and, per zone, zone="..."; a
// zone whose name an earlier zone of the snapshot has too gets
// zone_copy="2", "3"... so that no two series are the same. Per-CPU series
// add cpu="N" and, as in JSON, cover CPUs whose cache saw use. Destroyed
// zones are left out: a scrape shows what lives.
//
//   family                                     type     from
//   zonealloc_service_budget_bytes             gauge    budget_bytes
//   zonealloc_service_permanent_bytes          gauge    permanent_bytes
//   zonealloc_service_zones                    gauge    zones.size()
//   zonealloc_zone_info (tag, cpu_cache_mode)  gauge    always 1
//   zonealloc_zone_block_size_bytes            gauge    block_size
//   zonealloc_zone_capacity_blocks             gauge    capacity_blocks
//   zonealloc_zone_in_use_blocks               gauge    in_use_blocks
//   zonealloc_zone_peak_in_use_blocks          gauge    peak_in_use_blocks
//   zonealloc_zone_permanent_bytes             gauge    permanent_bytes
//   zonealloc_zone_cached_blocks               gauge    cached_blocks
//   zonealloc_zone_cpu_cache_bound_blocks      gauge    cpu_cache_bound_blocks
//   zonealloc_zone_allocation_failures_total   counter  allocation_failures
//   zonealloc_zone_slow_path_entries_total     counter  slow_path_entries
//   zonealloc_zone_cache_drains_total          counter  cache_drains
//   zonealloc_zone_extensions_total            counter  extensions
//   zonealloc_zone_extension_refusals_total    counter  extension_refusals
//   zonealloc_overflow_in_use_blocks           gauge    overflow_blocks_in_use
//   zonealloc_overflow_allocations_total       counter  overflow_allocations
//   zonealloc_overflow_slabs                   gauge    overflow_slabs_live
//   zonealloc_overflow_mapped_bytes            gauge    overflow_mapped_bytes
//   zonealloc_overflow_unreleased_slabs        gauge    overflow_slabs_unreleased
//   zonealloc_overflow_slabs_created_total     counter  overflow_slabs_created
//   zonealloc_overflow_slabs_released_total    counter  overflow_slabs_released
//   zonealloc_overflow_unmap_failures_total    counter  overflow_unmap_failures
//   zonealloc_cpu_cache_misses_total           counter  CpuCacheStats.misses
//   zonealloc_cpu_cache_refills_total          counter  CpuCacheStats.refills
//   zonealloc_cpu_cache_flushes_total          counter  CpuCacheStats.flushes
//   zonealloc_cpu_cache_drains_total           counter  CpuCacheStats.drains
//   zonealloc_cpu_cache_batch_moves_total      counter  CpuCacheStats.batch_moves
//   zonealloc_cpu_cache_blocks                 gauge    CpuCacheStats.blocks
//   zonealloc_cpu_cache_depth_blocks           gauge    CpuCacheStats.capacity
//
// A family with no series (no zones, no CPU caches) still has its # HELP
// and # TYPE lines.

#ifndef ZONEALLOC_CORE_STATS_EXPORT_H_
#define ZONEALLOC_CORE_STATS_EXPORT_H_

#include <string>

#include <zonealloc/zone_service.h>

namespace zonealloc {

std::string SnapshotToJson(const ServiceSnapshot& snapshot);
std::string SnapshotToPrometheusText(const ServiceSnapshot& snapshot);

}  // namespace zonealloc

#endif  // ZONEALLOC_CORE_STATS_EXPORT_H_
