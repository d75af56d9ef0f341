// SPDX-License-Identifier: Apache-2.0
#include "bench/run_record.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace zonealloc::bench {
namespace {

constexpr std::string_view kDetailKey = " detail=";

// A value may not contain spaces (only detail may): they become '_', and
// an empty value is written as "-".
std::string NoSpaces(const std::string& value) {
  return value.empty() ? "-" : absl::StrReplaceAll(value, {{" ", "_"}});
}

using Fields = std::map<std::string, std::string, std::less<>>;

absl::Status Missing(std::string_view key) {
  return absl::InvalidArgumentError(absl::StrFormat("result line: no valid '%s='", key));
}

template <typename T>
absl::Status ReadNumber(const Fields& fields, std::string_view key, T& out) {
  auto it = fields.find(key);
  if (it == fields.end()) return Missing(key);
  bool parsed;
  if constexpr (std::is_floating_point_v<T>) {
    parsed = absl::SimpleAtod(it->second, &out);
  } else {
    parsed = absl::SimpleAtoi(it->second, &out);
  }
  return parsed ? absl::OkStatus() : Missing(key);
}

// The four zone counts: all numbers, or all "-" (not a Zone).
std::string FormatZoneEvents(const std::optional<ZoneEvents>& events) {
  if (!events.has_value()) {
    return "slow_path_entries=- cache_drains=- overflow_allocations=- extensions=-";
  }
  return absl::StrFormat(
      "slow_path_entries=%d cache_drains=%d overflow_allocations=%d extensions=%d",
      events->slow_path_entries, events->cache_drains, events->overflow_allocations,
      events->extensions);
}

absl::Status ReadZoneEvents(const Fields& fields, std::optional<ZoneEvents>& out) {
  auto it = fields.find("slow_path_entries");
  if (it == fields.end()) return Missing("slow_path_entries");
  if (it->second == "-") {
    out = std::nullopt;
    return absl::OkStatus();
  }
  ZoneEvents events;
  for (absl::Status status : {
           ReadNumber(fields, "slow_path_entries", events.slow_path_entries),
           ReadNumber(fields, "cache_drains", events.cache_drains),
           ReadNumber(fields, "overflow_allocations", events.overflow_allocations),
           ReadNumber(fields, "extensions", events.extensions),
       }) {
    if (!status.ok()) return status;
  }
  out = events;
  return absl::OkStatus();
}

absl::Status ReadString(const Fields& fields, std::string_view key, std::string& out) {
  auto it = fields.find(key);
  if (it == fields.end()) return Missing(key);
  out = it->second == "-" ? "" : it->second;
  return absl::OkStatus();
}

}  // namespace

std::string FormatResultLine(const RunRecord& r) {
  return absl::StrFormat(
      "%sscenario=%s allocator=%s threads=%d threads_used=%d block_size=%d ops=%d "
      "allocations=%d seconds=%.6f mops=%.4f p50_ns=%.1f p99_ns=%.1f p999_ns=%.1f "
      "latency_samples=%d "
      "peak_rss_bytes=%d final_rss_bytes=%d malloc_library=%s %s ok=%s%s%s",
      kResultLinePrefix, NoSpaces(r.scenario), NoSpaces(r.allocator), r.threads, r.threads_used,
      r.block_size, r.ops, r.allocations, r.seconds, r.mops, r.p50_ns, r.p99_ns, r.p999_ns,
      r.latency_samples, r.peak_rss_bytes, r.final_rss_bytes, NoSpaces(r.malloc_library),
      FormatZoneEvents(r.zone_events), r.ok ? "true" : "false", kDetailKey,
      absl::StrReplaceAll(r.detail, {{"\n", " "}}));
}

absl::StatusOr<RunRecord> ParseResultLine(std::string_view text) {
  // Debian's Abseil has its own string_view: convert once, here.
  absl::string_view line(text.data(), text.size());
  if (!absl::ConsumePrefix(&line,
                           absl::string_view(kResultLinePrefix.data(), kResultLinePrefix.size()))) {
    return absl::InvalidArgumentError("result line: does not start with 'result '");
  }
  RunRecord r;
  const size_t detail_at = line.find(absl::string_view(kDetailKey.data(), kDetailKey.size()));
  if (detail_at == absl::string_view::npos) return Missing("detail");
  r.detail = std::string(line.substr(detail_at + kDetailKey.size()));
  Fields fields;
  for (absl::string_view field :
       absl::StrSplit(line.substr(0, detail_at), ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> key_value = absl::StrSplit(field, absl::MaxSplits('=', 1));
    fields[key_value.first] = key_value.second;
  }
  std::string ok;
  for (absl::Status status : {
           ReadString(fields, "scenario", r.scenario),
           ReadString(fields, "allocator", r.allocator),
           ReadNumber(fields, "threads", r.threads),
           ReadNumber(fields, "threads_used", r.threads_used),
           ReadNumber(fields, "block_size", r.block_size),
           ReadNumber(fields, "ops", r.ops),
           ReadNumber(fields, "allocations", r.allocations),
           ReadNumber(fields, "seconds", r.seconds),
           ReadNumber(fields, "mops", r.mops),
           ReadNumber(fields, "p50_ns", r.p50_ns),
           ReadNumber(fields, "p99_ns", r.p99_ns),
           ReadNumber(fields, "p999_ns", r.p999_ns),
           ReadNumber(fields, "latency_samples", r.latency_samples),
           ReadNumber(fields, "peak_rss_bytes", r.peak_rss_bytes),
           ReadNumber(fields, "final_rss_bytes", r.final_rss_bytes),
           ReadString(fields, "malloc_library", r.malloc_library),
           ReadZoneEvents(fields, r.zone_events),
           ReadString(fields, "ok", ok),
       }) {
    if (!status.ok()) return status;
  }
  if (ok != "true" && ok != "false") return Missing("ok");
  r.ok = ok == "true";
  return r;
}

absl::StatusOr<RunRecord> ParseWorkerOutput(std::string_view output) {
  // The last occurrence that starts a line.
  size_t at = output.rfind(kResultLinePrefix);
  while (at != std::string_view::npos && at > 0 && output[at - 1] != '\n') {
    at = output.rfind(kResultLinePrefix, at - 1);
  }
  if (at == std::string_view::npos) return absl::NotFoundError("no result line");
  std::string_view line = output.substr(at);
  return ParseResultLine(line.substr(0, line.find('\n')));
}

}  // namespace zonealloc::bench
