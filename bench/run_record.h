// SPDX-License-Identifier: Apache-2.0
// RunRecord is the outcome of one worker run (one allocator, one scenario),
// and the one-line text form in which the worker prints it and the driver
// reads it back:
//
//   result scenario=pair allocator=zone threads=1 ... slow_path_entries=3 ... ok=true detail=
//
// Fields are `key=value` separated by spaces; `-` stands for an empty
// string, and for the zone counts of an allocator that is not a Zone
// (slow_path_entries=- cache_drains=- ...). `detail` (free text, empty
// when the run passed its self-check) comes last and runs to the end of the
// line, so only it may contain spaces. Keeping the format and its parser in
// one file keeps the worker and the driver in step.

#ifndef ZONEALLOC_BENCH_RUN_RECORD_H_
#define ZONEALLOC_BENCH_RUN_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace zonealloc::bench {

// What a zonealloc Zone counted over the whole run (set-up and final frees
// included), summed over its zones: the events that take it off its fast
// path (see zonealloc::ZoneStats).
struct ZoneEvents {
  int64_t slow_path_entries = 0;     // found the CPU cache and the shared zone empty
  int64_t cache_drains = 0;          // CPU caches emptied back into the shared zone
  int64_t overflow_allocations = 0;  // blocks served from temporary overflow
  int64_t extensions = 0;            // permanent growth of the zone
};

struct RunRecord {
  std::string scenario;
  std::string allocator;  // the worker's --allocator (malloc for every malloc)
  int threads = 0;        // as asked
  int threads_used = 0;   // as run (prodcons runs pairs)
  size_t block_size = 0;  // 0 when the scenario picks its own sizes
  int64_t ops = 0;        // blocks allocated and freed in the timed part
  int64_t allocations = 0;  // blocks allocated (and freed) in the whole run, set-up included
  double seconds = 0;     // the timed part
  double mops = 0;        // ops / seconds / 1e6
  double p50_ns = 0;      // one allocate + one free, sampled
  double p99_ns = 0;
  double p999_ns = 0;
  int64_t latency_samples = 0;
  uint64_t peak_rss_bytes = 0;   // VmHWM at the end
  uint64_t final_rss_bytes = 0;  // RSS after every block was freed
  std::string malloc_library;    // the shared object malloc resolved to
  std::optional<ZoneEvents> zone_events;  // nullopt unless the allocator is a Zone
  bool ok = false;               // the self-check passed
  std::string detail;            // why not, when !ok
};

inline constexpr std::string_view kResultLinePrefix = "result ";

std::string FormatResultLine(const RunRecord& record);

// Parses a line made by FormatResultLine(); InvalidArgument naming the
// first field that is missing or malformed.
absl::StatusOr<RunRecord> ParseResultLine(std::string_view line);

// Parses the last result line in a worker's whole stdout; NotFound when
// there is none (the worker died first).
absl::StatusOr<RunRecord> ParseWorkerOutput(std::string_view output);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_RUN_RECORD_H_
