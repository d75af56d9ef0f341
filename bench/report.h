// SPDX-License-Identifier: Apache-2.0
// The scenario benchmark's report: the runs of each contender in each cell
// reduced to one row (medians of the repetitions), compared with glibc and
// with the best peer, and written as the stdout table, a Markdown table (for
// bench/README.md) and a summary JSON.
//
// A row is measured only when every repetition passed its self-check and
// really ran the contender (see Contender::expect_malloc_library); otherwise
// it says why and posts no numbers.

#ifndef ZONEALLOC_BENCH_REPORT_H_
#define ZONEALLOC_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/machine_info.h"
#include "bench/matrix.h"
#include "bench/run_record.h"
#include "bench/versions.h"

namespace zonealloc::bench {

// A Zone's ZoneEvents per million ops (a run's allocate+free ops, set-up
// included, as the counts are): how often it left its fast path, and why.
struct ZoneEventsPerMop {
  double slow_path_entries = 0;
  double cache_drains = 0;
  double overflow_allocations = 0;
  double extensions = 0;
};

// One contender in one cell.
struct Row {
  enum class Outcome { kMeasured, kNotInstalled, kFailed };

  Cell cell;
  std::string contender;
  bool zonealloc = false;
  Outcome outcome = Outcome::kMeasured;
  std::string detail;                  // why not measured
  std::vector<RunRecord> runs;         // the repetitions, all passed
  std::vector<std::string> rss_files;  // per repetition (burst), else empty strings
  RunRecord median;                    // FinishRow(): per-metric medians of runs
  // FinishRow(): per-count medians of the runs' rates; nullopt unless every
  // run reported zone events (the Zone contenders).
  std::optional<ZoneEventsPerMop> zone_events_per_mop;
  std::string median_rss_file;         // FinishRow(): RSS over time of the median run
  double x_glibc = 0;                  // FillRatios(): Mops/s over glibc's; 0 when n/a
  double x_best_peer = 0;              // FillRatios(): over the best peer's; 0 when n/a
};

// Sets `median` (each metric's median over the runs, taken separately),
// `zone_events_per_mop` (likewise) and `median_rss_file` (of the run with
// the median throughput).
// REQUIRES: row.runs is not empty.
void FinishRow(Row& row);

enum class TableStyle { kText, kMarkdown };

// Within each cell: x_glibc and x_best_peer of every measured row. The best
// peer is the fastest measured contender that is not zonealloc.
void FillRatios(std::vector<Row>& rows);

struct ReportHeading {
  MachineInfo machine;
  Versions versions;   // the zonealloc commit and the peers' libraries
  std::string matrix;  // "default", "full", "smoke" or "custom"
  int repetitions = 0;
  int64_t duration_ms = 0;
  bool pin_threads = true;  // the workers pinned their threads (see ScenarioConfig)
};

// The lines above the table: matrix and settings, machine, the zonealloc
// commit and the peer libraries' versions, and what the units mean. In
// Markdown they end in two spaces, so each stays on its own line.
std::string FormatHeading(const ReportHeading& heading, TableStyle style);

std::string FormatTable(const std::vector<Row>& rows, TableStyle style);

std::string SummaryJson(const std::vector<Row>& rows, const ReportHeading& heading);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_REPORT_H_
