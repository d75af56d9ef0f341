// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/stats_export.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <zonealloc/concurrency/percpu_cache.h>
#include <zonealloc/zone_stats.h>

namespace zonealloc {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// Appends `text` with each byte that is not part of well-formed UTF-8
// replaced by U+FFFD, and each ASCII byte passed to `escape_ascii`, which
// appends it (escaped or not).
template <typename EscapeAscii>
void AppendUtf8(std::string& out, std::string_view text, EscapeAscii escape_ascii) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else if (length == 1) {
      escape_ascii(out, text[i]);
      ++i;
    } else {
      out.append(text.data() + i, length);
      i += length;
    }
  }
}

// A JSON string literal (RFC 8259): quotes, backslashes and control
// characters escaped.
void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  AppendUtf8(out, text, [](std::string& o, char c) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&o, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          o += c;
        }
    }
  });
  out += '"';
}

// Builds one JSON object, placing the commas: each Field() or Begin...()
// inside an object names its member.
class JsonWriter {
 public:
  JsonWriter& BeginObject(std::string_view key = {}) { return Open(key, '{'); }
  JsonWriter& BeginArray(std::string_view key = {}) { return Open(key, '['); }
  JsonWriter& End() {
    text_ += open_.back();
    open_.pop_back();
    first_ = false;
    return *this;
  }
  JsonWriter& Field(std::string_view key, std::string_view value) {
    Member(key);
    AppendJsonString(text_, value);
    return *this;
  }
  JsonWriter& Field(std::string_view key, uint64_t value) {
    Member(key);
    absl::StrAppend(&text_, value);
    return *this;
  }
  std::string Finish() && { return std::move(text_); }

 private:
  JsonWriter& Open(std::string_view key, char bracket) {
    Member(key);
    text_ += bracket;
    open_.push_back(bracket == '{' ? '}' : ']');
    first_ = true;
    return *this;
  }
  // The comma before a value, and its key inside an object.
  void Member(std::string_view key) {
    if (!first_) text_ += ',';
    first_ = false;
    if (!key.empty()) {
      AppendJsonString(text_, key);
      text_ += ':';
    }
  }

  std::string text_;
  std::string open_;   // the closing bracket of each open object or array
  bool first_ = true;  // no value yet in the innermost open one
};

// A CPU whose cache counted nothing and holds nothing saw no use: it is
// left out.
bool CpuCacheSawUse(const CpuCacheStats& c) {
  return c.misses != 0 || c.refills != 0 || c.flushes != 0 || c.drains != 0 ||
         c.batch_moves != 0 || c.blocks != 0;
}

void AppendZoneJson(JsonWriter& json, const ZoneStats& z) {
  json.BeginObject()
      .Field("name", z.name)
      .Field("tag", z.tag)
      .Field("block_size", z.block_size)
      .Field("capacity_blocks", z.capacity_blocks)
      .Field("in_use_blocks", z.in_use_blocks)
      .Field("peak_in_use_blocks", z.peak_in_use_blocks)
      .Field("allocation_failures", z.allocation_failures)
      .Field("overflow_blocks_in_use", z.overflow_blocks_in_use)
      .Field("overflow_allocations", z.overflow_allocations)
      .Field("overflow_slabs_live", z.overflow_slabs_live)
      .Field("overflow_slabs_created", z.overflow_slabs_created)
      .Field("overflow_slabs_released", z.overflow_slabs_released)
      .Field("overflow_mapped_bytes", z.overflow_mapped_bytes)
      .Field("overflow_slabs_unreleased", z.overflow_slabs_unreleased)
      .Field("overflow_unmap_failures", z.overflow_unmap_failures)
      .Field("slow_path_entries", z.slow_path_entries)
      .Field("cache_drains", z.cache_drains)
      .Field("extensions", z.extensions)
      .Field("extension_refusals", z.extension_refusals)
      .Field("permanent_bytes", z.permanent_bytes)
      .Field("cpu_cache_mode", z.cpu_cache_mode)
      .Field("cached_blocks", z.cached_blocks)
      .Field("cpu_cache_bound_blocks", z.cpu_cache_bound_blocks)
      .BeginArray("cpu_caches");
  for (size_t cpu = 0; cpu < z.cpu_caches.size(); ++cpu) {
    const CpuCacheStats& c = z.cpu_caches[cpu];
    if (!CpuCacheSawUse(c)) continue;
    json.BeginObject()
        .Field("cpu", cpu)
        .Field("misses", c.misses)
        .Field("refills", c.refills)
        .Field("flushes", c.flushes)
        .Field("drains", c.drains)
        .Field("batch_moves", c.batch_moves)
        .Field("blocks", c.blocks)
        .Field("capacity", c.capacity)
        .End();
  }
  json.End().End();
}

// A Prometheus label value: backslash, quote and newline escaped, as the
// exposition format asks; other bytes as they are (UTF-8).
std::string PrometheusLabelValue(std::string_view text) {
  std::string out;
  AppendUtf8(out, text, [](std::string& o, char c) {
    switch (c) {
      case '\\': o += "\\\\"; break;
      case '"': o += "\\\""; break;
      case '\n': o += "\\n"; break;
      default: o += c;
    }
  });
  return out;
}

// One metric family: its name, type and help, and the value of its sample
// for a zone or a CPU cache.
struct ZoneFamily {
  const char* name;
  const char* type;
  const char* help;
  uint64_t (*value)(const ZoneStats&);
};
struct CpuFamily {
  const char* name;
  const char* type;
  const char* help;
  uint64_t (*value)(const CpuCacheStats&);
};

constexpr ZoneFamily kZoneFamilies[] = {
    {"zonealloc_zone_block_size_bytes", "gauge", "Bytes per block, after rounding.",
     [](const ZoneStats& z) -> uint64_t { return z.block_size; }},
    {"zonealloc_zone_capacity_blocks", "gauge", "Permanent blocks committed.",
     [](const ZoneStats& z) -> uint64_t { return z.capacity_blocks; }},
    {"zonealloc_zone_in_use_blocks", "gauge", "Blocks handed out and not yet freed, overflow included.",
     [](const ZoneStats& z) -> uint64_t { return z.in_use_blocks; }},
    {"zonealloc_zone_peak_in_use_blocks", "gauge",
     "The highest in_use_blocks seen (sampled, so approximate, with CPU caches).",
     [](const ZoneStats& z) -> uint64_t { return z.peak_in_use_blocks; }},
    {"zonealloc_zone_permanent_bytes", "gauge", "Bytes of blocks, links and batch slots charged to the budget.",
     [](const ZoneStats& z) -> uint64_t { return z.permanent_bytes; }},
    {"zonealloc_zone_cached_blocks", "gauge", "Free blocks sitting in CPU caches.",
     [](const ZoneStats& z) -> uint64_t { return z.cached_blocks; }},
    {"zonealloc_zone_cpu_cache_bound_blocks", "gauge",
     "The most all CPU caches together may hold now.",
     [](const ZoneStats& z) -> uint64_t { return z.cpu_cache_bound_blocks; }},
    {"zonealloc_zone_allocation_failures_total", "counter",
     "Allocations that returned nullptr: past every cap, or the page source failed.",
     [](const ZoneStats& z) -> uint64_t { return z.allocation_failures; }},
    {"zonealloc_zone_slow_path_entries_total", "counter",
     "Allocations that found the CPU cache and the shared zone empty.",
     [](const ZoneStats& z) -> uint64_t { return z.slow_path_entries; }},
    {"zonealloc_zone_cache_drains_total", "counter",
     "CPU caches emptied back into the shared zone.",
     [](const ZoneStats& z) -> uint64_t { return z.cache_drains; }},
    {"zonealloc_zone_extensions_total", "counter", "Permanent extensions of the zone.",
     [](const ZoneStats& z) -> uint64_t { return z.extensions; }},
    {"zonealloc_zone_extension_refusals_total", "counter",
     "Extensions refused by max_blocks or the service budget, or whose commit failed.",
     [](const ZoneStats& z) -> uint64_t { return z.extension_refusals; }},
    {"zonealloc_overflow_in_use_blocks", "gauge", "Temporary overflow blocks in use.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_blocks_in_use; }},
    {"zonealloc_overflow_allocations_total", "counter", "Overflow blocks handed out.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_allocations; }},
    {"zonealloc_overflow_slabs", "gauge", "Overflow slabs mapped now.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_slabs_live; }},
    {"zonealloc_overflow_mapped_bytes", "gauge", "Bytes of the overflow slabs mapped now.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_mapped_bytes; }},
    {"zonealloc_overflow_unreleased_slabs", "gauge",
     "Empty overflow slabs the system refused to unmap.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_slabs_unreleased; }},
    {"zonealloc_overflow_slabs_created_total", "counter", "Overflow slabs mapped.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_slabs_created; }},
    {"zonealloc_overflow_slabs_released_total", "counter", "Overflow slabs unmapped.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_slabs_released; }},
    {"zonealloc_overflow_unmap_failures_total", "counter",
     "Unmaps of overflow slabs the system refused, retries included.",
     [](const ZoneStats& z) -> uint64_t { return z.overflow_unmap_failures; }},
};

constexpr CpuFamily kCpuFamilies[] = {
    {"zonealloc_cpu_cache_misses_total", "counter", "Allocations that found the CPU's cache empty.",
     [](const CpuCacheStats& c) -> uint64_t { return c.misses; }},
    {"zonealloc_cpu_cache_refills_total", "counter", "Batches moved in from the shared zone.",
     [](const CpuCacheStats& c) -> uint64_t { return c.refills; }},
    {"zonealloc_cpu_cache_flushes_total", "counter", "Batches moved out to the shared zone.",
     [](const CpuCacheStats& c) -> uint64_t { return c.flushes; }},
    {"zonealloc_cpu_cache_drains_total", "counter", "Times a drain took blocks out of the cache.",
     [](const CpuCacheStats& c) -> uint64_t { return c.drains; }},
    {"zonealloc_cpu_cache_batch_moves_total", "counter",
     "Batch pops and pushes: one critical section each.",
     [](const CpuCacheStats& c) -> uint64_t { return c.batch_moves; }},
    {"zonealloc_cpu_cache_blocks", "gauge", "Free blocks cached now.",
     [](const CpuCacheStats& c) -> uint64_t { return c.blocks; }},
    {"zonealloc_cpu_cache_depth_blocks", "gauge", "The most blocks the cache may hold now.",
     [](const CpuCacheStats& c) -> uint64_t { return c.capacity; }},
};

void AppendFamilyHeader(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string SnapshotToJson(const ServiceSnapshot& snapshot) {
  JsonWriter json;
  json.BeginObject()
      .Field("service", snapshot.name)
      .Field("budget_bytes", snapshot.budget_bytes)
      .Field("permanent_bytes", snapshot.permanent_bytes)
      .BeginArray("zones");
  for (const ZoneStats& zone : snapshot.zones) AppendZoneJson(json, zone);
  json.End().BeginArray("destroyed_zones");
  for (const ZoneStats& zone : snapshot.destroyed_zones) AppendZoneJson(json, zone);
  json.End().Field("destroyed_zones_dropped", snapshot.destroyed_zones_dropped).End();
  std::string text = std::move(json).Finish();
  text += '\n';
  return text;
}

std::string SnapshotToPrometheusText(const ServiceSnapshot& snapshot) {
  // The labels of each zone's series, without braces: service, zone and,
  // for the second zone of a name and later ones, zone_copy.
  const std::string service =
      absl::StrCat("service=\"", PrometheusLabelValue(snapshot.name), "\"");
  std::vector<std::string> zone_labels;
  for (size_t i = 0; i < snapshot.zones.size(); ++i) {
    size_t copy = 1;
    for (size_t k = 0; k < i; ++k) copy += snapshot.zones[k].name == snapshot.zones[i].name;
    std::string labels =
        absl::StrCat(service, ",zone=\"", PrometheusLabelValue(snapshot.zones[i].name), "\"");
    if (copy > 1) absl::StrAppend(&labels, ",zone_copy=\"", copy, "\"");
    zone_labels.push_back(std::move(labels));
  }

  std::string out;
  AppendFamilyHeader(out, "zonealloc_service_budget_bytes", "gauge",
                     "Bytes of permanent zone memory the service's zones may hold.");
  absl::StrAppend(&out, "zonealloc_service_budget_bytes{", service, "} ", snapshot.budget_bytes,
                  "\n");
  AppendFamilyHeader(out, "zonealloc_service_permanent_bytes", "gauge",
                     "Bytes of permanent zone memory charged to the budget now.");
  absl::StrAppend(&out, "zonealloc_service_permanent_bytes{", service, "} ",
                  snapshot.permanent_bytes, "\n");
  AppendFamilyHeader(out, "zonealloc_service_zones", "gauge", "Zones of the service alive now.");
  absl::StrAppend(&out, "zonealloc_service_zones{", service, "} ", snapshot.zones.size(), "\n");

  AppendFamilyHeader(out, "zonealloc_zone_info", "gauge",
                     "Always 1: the zone's overflow tag and CPU cache mode as labels.");
  for (size_t i = 0; i < snapshot.zones.size(); ++i) {
    const ZoneStats& z = snapshot.zones[i];
    absl::StrAppend(&out, "zonealloc_zone_info{", zone_labels[i], ",tag=\"",
                    PrometheusLabelValue(z.tag), "\",cpu_cache_mode=\"",
                    PrometheusLabelValue(z.cpu_cache_mode), "\"} 1\n");
  }
  for (const ZoneFamily& family : kZoneFamilies) {
    AppendFamilyHeader(out, family.name, family.type, family.help);
    for (size_t i = 0; i < snapshot.zones.size(); ++i) {
      absl::StrAppend(&out, family.name, "{", zone_labels[i], "} ",
                      family.value(snapshot.zones[i]), "\n");
    }
  }
  for (const CpuFamily& family : kCpuFamilies) {
    AppendFamilyHeader(out, family.name, family.type, family.help);
    for (size_t i = 0; i < snapshot.zones.size(); ++i) {
      const std::vector<CpuCacheStats>& caches = snapshot.zones[i].cpu_caches;
      for (size_t cpu = 0; cpu < caches.size(); ++cpu) {
        if (!CpuCacheSawUse(caches[cpu])) continue;
        absl::StrAppend(&out, family.name, "{", zone_labels[i], ",cpu=\"", cpu, "\"} ",
                        family.value(caches[cpu]), "\n");
      }
    }
  }
  return out;
}

}  // namespace zonealloc
