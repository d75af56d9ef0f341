// SPDX-License-Identifier: Apache-2.0
#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "bench/json_writer.h"

namespace zonealloc::bench {
namespace {

// Rows of the same cell are compared with each other.
using CellKey = std::tuple<std::string, int, size_t>;
CellKey KeyOf(const Cell& cell) { return {cell.scenario, cell.threads_used, cell.block_size}; }

template <typename T>
T Median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  if (n % 2 == 1) return values[n / 2];
  return static_cast<T>((values[n / 2 - 1] + values[n / 2]) / 2);
}

// The median over `runs` of the metric `field` points to.
template <typename T>
T MedianOf(const std::vector<RunRecord>& runs, T RunRecord::*field) {
  std::vector<T> values;
  for (const RunRecord& run : runs) values.push_back(run.*field);
  return Median(std::move(values));
}

// Each run's zone events per million of its ops, then each count's median
// over the runs. nullopt when a run has no zone events. The events count the
// whole run, set-up and final frees included, and so do its allocations
// (each an allocate+free op): the timed ops alone would leave the set-up's
// events over a count that grows with speed.
std::optional<ZoneEventsPerMop> MedianZoneEventsPerMop(const std::vector<RunRecord>& runs) {
  std::vector<ZoneEventsPerMop> rates;
  for (const RunRecord& run : runs) {
    if (!run.zone_events.has_value()) return std::nullopt;
    const double per_mop = run.allocations > 0 ? 1e6 / static_cast<double>(run.allocations) : 0;
    const ZoneEvents& events = *run.zone_events;
    auto rate = [per_mop](int64_t count) { return static_cast<double>(count) * per_mop; };
    rates.push_back({.slow_path_entries = rate(events.slow_path_entries),
                     .cache_drains = rate(events.cache_drains),
                     .overflow_allocations = rate(events.overflow_allocations),
                     .extensions = rate(events.extensions)});
  }
  if (rates.empty()) return std::nullopt;
  auto median_of = [&](double ZoneEventsPerMop::*field) {
    std::vector<double> values;
    for (const ZoneEventsPerMop& rate : rates) values.push_back(rate.*field);
    return Median(std::move(values));
  };
  return ZoneEventsPerMop{
      .slow_path_entries = median_of(&ZoneEventsPerMop::slow_path_entries),
      .cache_drains = median_of(&ZoneEventsPerMop::cache_drains),
      .overflow_allocations = median_of(&ZoneEventsPerMop::overflow_allocations),
      .extensions = median_of(&ZoneEventsPerMop::extensions)};
}

// A rate in few characters: "0", two significant digits below 10, whole
// numbers above.
std::string ShortRate(double rate) {
  if (rate == 0) return "0";
  if (rate < 10) return absl::StrFormat("%.2g", rate);
  return absl::StrFormat("%.0f", rate);
}

// "slow/drain/ovf/ext" per million ops, or "-" for an allocator that is not a Zone.
std::string ZoneEventsText(const std::optional<ZoneEventsPerMop>& rates) {
  if (!rates.has_value()) return "-";
  return absl::StrCat(ShortRate(rates->slow_path_entries), "/", ShortRate(rates->cache_drains), "/",
                      ShortRate(rates->overflow_allocations), "/", ShortRate(rates->extensions));
}

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

std::string Ratio(double ratio) { return ratio > 0 ? absl::StrFormat("%.2f", ratio) : "-"; }

// The table's columns, in order; `right` aligns numbers.
struct Column {
  const char* header;
  int width;
  bool right;
};
constexpr Column kColumns[] = {
    {"scenario", 8, false},    {"thr", 3, true},           {"block", 5, true},
    {"allocator", 13, false},  {"Mops/s", 8, true},        {"x glibc", 7, true},
    {"x best peer", 11, true}, {"p50 ns", 7, true},        {"p99 ns", 7, true},
    {"p99.9 ns", 8, true},     {"peak RSS MiB", 12, true}, {"final RSS MiB", 13, true},
    {"slow/drain/ovf/ext per Mop", 26, true},
};
constexpr size_t kLeadColumns = 4;  // scenario .. allocator: shown for every row

std::vector<std::string> RowCells(const Row& row) {
  std::vector<std::string> cells = {row.cell.scenario, absl::StrFormat("%d", row.cell.threads_used),
                                    BlockSizeText(row.cell.block_size), row.contender};
  if (row.outcome == Row::Outcome::kNotInstalled) {
    cells.push_back("not installed (" + row.detail + ")");
    return cells;
  }
  if (row.outcome == Row::Outcome::kFailed) {
    cells.push_back("FAILED: " + row.detail);
    return cells;
  }
  const RunRecord& m = row.median;
  cells.push_back(absl::StrFormat("%.2f", m.mops));
  cells.push_back(Ratio(row.x_glibc));
  cells.push_back(Ratio(row.x_best_peer));
  cells.push_back(absl::StrFormat("%.0f", m.p50_ns));
  cells.push_back(absl::StrFormat("%.0f", m.p99_ns));
  cells.push_back(absl::StrFormat("%.0f", m.p999_ns));
  cells.push_back(absl::StrFormat("%.1f", Mib(m.peak_rss_bytes)));
  cells.push_back(absl::StrFormat("%.1f", Mib(m.final_rss_bytes)));
  cells.push_back(ZoneEventsText(row.zone_events_per_mop));
  return cells;
}

std::string TextLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    const Column& column = kColumns[i];
    if (i > 0) line += "  ";
    // A message in place of the numbers runs to the end of the line.
    const bool message = i == kLeadColumns && cells.size() == kLeadColumns + 1;
    if (message) {
      line += cells[i];
    } else if (column.right) {
      line += absl::StrFormat("%*s", column.width, cells[i]);
    } else {
      line += absl::StrFormat("%-*s", column.width, cells[i]);
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string MarkdownLine(std::vector<std::string> cells) {
  cells.resize(std::size(kColumns));
  for (std::string& cell : cells) cell = absl::StrReplaceAll(cell, {{"|", "\\|"}});
  return "| " + absl::StrJoin(cells, " | ") + " |";
}

}  // namespace

void FinishRow(Row& row) {
  RunRecord& m = row.median;
  m = row.runs.front();
  m.ops = MedianOf(row.runs, &RunRecord::ops);
  m.seconds = MedianOf(row.runs, &RunRecord::seconds);
  m.mops = MedianOf(row.runs, &RunRecord::mops);
  m.p50_ns = MedianOf(row.runs, &RunRecord::p50_ns);
  m.p99_ns = MedianOf(row.runs, &RunRecord::p99_ns);
  m.p999_ns = MedianOf(row.runs, &RunRecord::p999_ns);
  m.latency_samples = MedianOf(row.runs, &RunRecord::latency_samples);
  m.peak_rss_bytes = MedianOf(row.runs, &RunRecord::peak_rss_bytes);
  m.final_rss_bytes = MedianOf(row.runs, &RunRecord::final_rss_bytes);
  row.zone_events_per_mop = MedianZoneEventsPerMop(row.runs);
  // The run whose throughput is nearest the median supplies the RSS curve.
  size_t nearest = 0;
  for (size_t i = 1; i < row.runs.size(); ++i) {
    if (std::abs(row.runs[i].mops - m.mops) < std::abs(row.runs[nearest].mops - m.mops)) {
      nearest = i;
    }
  }
  row.median_rss_file = nearest < row.rss_files.size() ? row.rss_files[nearest] : "";
}

void FillRatios(std::vector<Row>& rows) {
  std::map<CellKey, double> glibc;
  std::map<CellKey, double> best_peer;
  for (const Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured) continue;
    const CellKey key = KeyOf(row.cell);
    if (row.contender == "glibc") glibc[key] = row.median.mops;
    if (!row.zonealloc) best_peer[key] = std::max(best_peer[key], row.median.mops);
  }
  for (Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured) continue;
    const CellKey key = KeyOf(row.cell);
    auto ratio = [&](const std::map<CellKey, double>& base) {
      auto it = base.find(key);
      return it != base.end() && it->second > 0 ? row.median.mops / it->second : 0.0;
    };
    row.x_glibc = ratio(glibc);
    row.x_best_peer = ratio(best_peer);
  }
}

std::string FormatTable(const std::vector<Row>& rows, TableStyle style) {
  std::vector<std::string> headers;
  for (const Column& column : kColumns) headers.emplace_back(column.header);
  std::string text;
  if (style == TableStyle::kMarkdown) {
    text += MarkdownLine(headers) + "\n";
    std::vector<std::string> rule;
    for (const Column& column : kColumns) rule.push_back(column.right ? "---:" : "---");
    text += "| " + absl::StrJoin(rule, " | ") + " |\n";
    for (const Row& row : rows) text += MarkdownLine(RowCells(row)) + "\n";
    return text;
  }
  text += TextLine(headers) + "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && KeyOf(rows[i].cell) != KeyOf(rows[i - 1].cell)) text += "\n";
    text += TextLine(RowCells(rows[i])) + "\n";
  }
  return text;
}

std::string FormatHeading(const ReportHeading& heading, TableStyle style) {
  const std::string runs = heading.matrix == "smoke"
                               ? std::string("tiny runs")
                               : absl::StrFormat("%d ms", heading.duration_ms);
  const std::vector<std::string> lines = {
      absl::StrFormat(
          "zonealloc scenario benchmark: %s matrix, median of %d x %s, %s; %s", heading.matrix,
          heading.repetitions, runs,
          heading.pin_threads ? "threads pinned round-robin" : "threads placed by the kernel",
          heading.machine.OneLine()),
      heading.versions.OneLine(),
      "Mops/s = million blocks allocated and freed per second; latency = one allocate + one "
      "free, sampled"};
  return absl::StrJoin(lines, style == TableStyle::kMarkdown ? "  \n" : "\n") + "\n";
}

std::string SummaryJson(const std::vector<Row>& rows, const ReportHeading& heading) {
  JsonWriter json;
  json.BeginObject();
  json.Key("zonealloc_commit").String(heading.versions.zonealloc_commit);
  json.Key("libraries").BeginObject();
  for (const LibraryVersion& library : heading.versions.libraries) {
    json.Key(library.library).String(library.version);
  }
  json.EndObject();
  json.Key("machine").BeginObject();
  json.Key("cpus").Int(heading.machine.cpus).Key("cpu_model").String(heading.machine.cpu_model);
  json.Key("kernel").String(heading.machine.kernel);
  json.Key("memory_bytes").Int(static_cast<int64_t>(heading.machine.memory_bytes));
  json.Key("date_utc").String(heading.machine.date_utc);
  json.EndObject();
  json.Key("matrix").String(heading.matrix).Key("repetitions").Int(heading.repetitions);
  json.Key("duration_ms").Int(heading.duration_ms);
  json.Key("pin_threads").Bool(heading.pin_threads);
  json.Key("rows").BeginArray();
  for (const Row& row : rows) {
    json.BeginObject();
    json.Key("scenario").String(row.cell.scenario).Key("threads").Int(row.cell.threads);
    json.Key("threads_used").Int(row.cell.threads_used);
    json.Key("block_size").Int(static_cast<int64_t>(row.cell.block_size));
    json.Key("allocator").String(row.contender).Key("zonealloc").Bool(row.zonealloc);
    const char* outcome = row.outcome == Row::Outcome::kMeasured       ? "measured"
                          : row.outcome == Row::Outcome::kNotInstalled ? "not installed"
                                                                       : "failed";
    json.Key("outcome").String(outcome).Key("detail").String(row.detail);
    if (row.outcome == Row::Outcome::kMeasured) {
      const RunRecord& m = row.median;
      json.Key("mops").Double(m.mops).Key("x_glibc").Double(row.x_glibc);
      json.Key("x_best_peer").Double(row.x_best_peer);
      json.Key("p50_ns").Double(m.p50_ns).Key("p99_ns").Double(m.p99_ns);
      json.Key("p999_ns").Double(m.p999_ns);
      json.Key("peak_rss_bytes").Int(static_cast<int64_t>(m.peak_rss_bytes));
      json.Key("final_rss_bytes").Int(static_cast<int64_t>(m.final_rss_bytes));
      json.Key("malloc_library").String(m.malloc_library);
      json.Key("zone_events_per_mop");
      if (row.zone_events_per_mop.has_value()) {
        const ZoneEventsPerMop& rates = *row.zone_events_per_mop;
        json.BeginObject();
        json.Key("slow_path_entries").Double(rates.slow_path_entries);
        json.Key("cache_drains").Double(rates.cache_drains);
        json.Key("overflow_allocations").Double(rates.overflow_allocations);
        json.Key("extensions").Double(rates.extensions);
        json.EndObject();
      } else {
        json.Null();
      }
      json.Key("mops_per_repetition").BeginArray();
      for (const RunRecord& run : row.runs) json.Double(run.mops);
      json.EndArray();
      if (!row.runs.empty()) {  // the spread the plots' error bars show
        const auto [low, high] = std::minmax_element(
            row.runs.begin(), row.runs.end(),
            [](const RunRecord& a, const RunRecord& b) { return a.mops < b.mops; });
        json.Key("mops_min").Double(low->mops).Key("mops_max").Double(high->mops);
      }
    }
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.text() + "\n";
}

}  // namespace zonealloc::bench
