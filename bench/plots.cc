// SPDX-License-Identifier: Apache-2.0
#include "bench/plots.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/child_process.h"
#include "bench/json_writer.h"
#include "bench/versions.h"

namespace zonealloc::bench {
namespace {

// The colours, one per contender: zonealloc's zones in warm colours, the
// peers in cool ones and greys. Kept by name, not by order of appearance,
// so an allocator has the same colour in every plot whichever rows a plot
// has.
struct NamedColor {
  std::string_view allocator;
  std::string_view color;
};
constexpr NamedColor kAllocatorColors[] = {
    {"zone", "#d62728"},           // red
    {"zone_fallback", "#ff7f0e"},  // orange
    {"zone_nocache", "#8c564b"},   // brown
    {"zone_debug", "#e377c2"},     // pink
    {"unsync", "#9467bd"},         // purple
    {"glibc", "#7f7f7f"},          // grey
    {"jemalloc", "#1f77b4"},       // blue
    {"tcmalloc", "#2ca02c"},       // green
    {"mimalloc", "#17becf"},       // cyan
    {"tbbmalloc", "#bcbd22"},      // olive
    {"tbb_pool", "#393b79"},       // indigo
    {"pmr_sync", "#000000"},       // black
    {"pmr_unsync", "#7b4173"},     // plum
};

// One line of a plot: its points ("x median low high" lines), or a data
// file of "ms rss_mib" lines to read.
struct Series {
  std::string title;
  std::string points;
  std::string file;        // used when points is empty
  bool zonealloc = false;  // drawn thicker
};

struct Plot {
  std::string name;   // file name without extension
  std::string setup;  // gnuplot commands: title, labels
  std::vector<Series> series;
  std::vector<int> threads;  // x values, for the ticks (throughput plots)
  // The points drawn, for the log-scale rule. Not the bars' ends: one
  // stalled repetition on a busy machine should not change the axis.
  std::vector<double> medians;
};

template <typename T>
T& FindOrAdd(std::vector<T>& items, std::string T::*key, const std::string& value) {
  auto it =
      std::find_if(items.begin(), items.end(), [&](const T& item) { return item.*key == value; });
  if (it != items.end()) return *it;
  T& added = items.emplace_back();
  added.*key = value;
  return added;
}

std::vector<Plot> ThroughputPlots(const std::vector<Row>& rows) {
  std::vector<Plot> plots;
  for (const Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured || row.runs.empty()) continue;
    const std::string block = BlockSizeText(row.cell.block_size, "B");
    Plot& plot = FindOrAdd(plots, &Plot::name,
                           absl::StrFormat("throughput_%s_%s", row.cell.scenario, block));
    plot.setup = absl::StrFormat(
        "set title '%s, %s blocks: allocate+free throughput "
        "(median of %d runs; bars: slowest to fastest run)'\n"
        "set xlabel 'threads'\nset ylabel 'Mops/s'",
        row.cell.scenario, block, row.runs.size());
    Series& series = FindOrAdd(plot.series, &Series::title, row.contender);
    series.zonealloc = row.zonealloc;
    const auto [low, high] =
        std::minmax_element(row.runs.begin(), row.runs.end(),
                            [](const RunRecord& a, const RunRecord& b) { return a.mops < b.mops; });
    absl::StrAppendFormat(&series.points, "%d %.4f %.4f %.4f\n", row.cell.threads_used,
                          row.median.mops, low->mops, high->mops);
    plot.medians.push_back(row.median.mops);
    if (std::find(plot.threads.begin(), plot.threads.end(), row.cell.threads_used) ==
        plot.threads.end()) {
      plot.threads.push_back(row.cell.threads_used);
    }
  }
  return plots;
}

std::vector<Plot> BurstRssPlots(const std::vector<Row>& rows) {
  std::vector<Plot> plots;
  for (const Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured || row.median_rss_file.empty()) continue;
    const std::string block = BlockSizeText(row.cell.block_size, "B");
    Plot& plot = FindOrAdd(plots, &Plot::name,
                           absl::StrFormat("burst_rss_t%d_%s", row.cell.threads_used, block));
    plot.setup = absl::StrFormat(
        "set title 'burst, %d threads, %s blocks: RSS over time (median run)'\n"
        "set xlabel 'ms'\nset ylabel 'RSS MiB'\nset yrange [0:*]",
        row.cell.threads_used, block);
    plot.series.push_back(
        {.title = row.contender, .file = row.median_rss_file, .zonealloc = row.zonealloc});
  }
  return plots;
}

// The x axis of a throughput plot: log 2, ticks at the measured thread
// counts only, a margin either side; the y axis: from 0, or logarithmic.
std::string ThroughputAxes(const Plot& plot) {
  std::vector<int> threads = plot.threads;
  std::sort(threads.begin(), threads.end());
  std::string axes =
      absl::StrFormat("set logscale x 2\nset xrange [%g:%g]\nset xtics (%s)\nset mxtics 1\n",
                      threads.front() / 1.5, threads.back() * 1.5, absl::StrJoin(threads, ", "));
  if (WantsLogScale(plot.medians)) {
    axes += "set logscale y 10\nset yrange [*:*]\nset ylabel 'Mops/s (log scale)'\n";
  } else {
    axes += "set yrange [0:*]\n";
  }
  return axes;
}

// How far apart, in octaves of threads, the lines' points of one thread
// count are drawn.
constexpr double kDodgeOctaves = 0.03;

PlotFiles PlanPlot(const std::string& dir, const Plot& plot) {
  PlotFiles files{.name = plot.name};
  const std::string data_path = absl::StrFormat("%s/%s.dat", dir, plot.name);
  std::vector<std::string> terms;
  int index = 0;
  for (const Series& series : plot.series) {
    const std::string style =
        absl::StrFormat("lc rgb '%s' lw %d title '%s'", AllocatorColor(series.title),
                        series.zonealloc ? 4 : 2, series.title);
    if (series.points.empty()) {
      terms.push_back(absl::StrFormat("'%s' using 1:2 with lines %s", series.file, style));
    } else {
      absl::StrAppendFormat(&files.data, "# %s: threads median min max\n%s\n\n", series.title,
                            series.points);
      // Each line's points sit a little beside the thread count (a fixed
      // fraction of an octave on the log-2 axis), so bars do not hide each
      // other.
      const double dodge = (index - (plot.series.size() - 1) / 2.0) * kDodgeOctaves;
      terms.push_back(absl::StrFormat(
          "'%s' index %d using ($1*2**(%.3f)):2:3:4 with yerrorlines pt 7 ps 0.8 %s", data_path,
          index, dodge, style));
      ++index;
    }
  }
  files.script = absl::StrFormat(
      "set terminal pngcairo size 1000,600 noenhanced\nset output '%s/%s.png'\n"
      "set key outside right\nset grid\nset bars small\n%s\n%splot %s\n",
      dir, plot.name, plot.setup, plot.threads.empty() ? "" : ThroughputAxes(plot),
      absl::StrJoin(terms, ", \\\n     "));
  return files;
}

// Writes <dir>/<name>.dat (the inline series, as data blocks separated by
// two blank lines) and <dir>/<name>.gp, and runs gnuplot on the script.
absl::StatusOr<std::string> Draw(const std::string& dir, const PlotFiles& plot,
                                 const std::string& gnuplot) {
  if (!plot.data.empty()) {
    const std::string data_path = absl::StrFormat("%s/%s.dat", dir, plot.name);
    if (absl::Status written = WriteFile(data_path, plot.data); !written.ok()) return written;
  }
  const std::string script_path = absl::StrFormat("%s/%s.gp", dir, plot.name);
  if (absl::Status written = WriteFile(script_path, plot.script); !written.ok()) return written;
  absl::StatusOr<ChildExit> exit = RunChildProcess(gnuplot, {script_path}, "", absl::Seconds(60));
  if (!exit.ok()) return exit.status();
  if (exit->exit_code != 0) {
    return absl::InternalError(absl::StrFormat("gnuplot %s: %s", script_path, exit->Describe()));
  }
  return absl::StrFormat("%s/%s.png", dir, plot.name);
}

}  // namespace

std::string_view AllocatorColor(std::string_view allocator) {
  for (const NamedColor& named : kAllocatorColors) {
    if (named.allocator == allocator) return named.color;
  }
  return kUnlistedColor;
}

bool WantsLogScale(const std::vector<double>& values) {
  double smallest = 0;
  double largest = 0;
  for (double value : values) {
    if (value <= 0) continue;  // a log axis cannot show it; it does not count
    if (smallest == 0 || value < smallest) smallest = value;
    largest = std::max(largest, value);
  }
  return smallest > 0 && largest > 100 * smallest;
}

std::vector<PlotFiles> PlanPlots(const std::vector<Row>& rows, const std::string& dir) {
  std::vector<Plot> plots = ThroughputPlots(rows);
  for (Plot& plot : BurstRssPlots(rows)) plots.push_back(std::move(plot));
  std::vector<PlotFiles> files;
  for (const Plot& plot : plots) files.push_back(PlanPlot(dir, plot));
  return files;
}

std::string FindGnuplot() { return FindProgram("gnuplot"); }

absl::StatusOr<std::vector<std::string>> DrawPlots(const std::vector<Row>& rows,
                                                   const std::string& dir,
                                                   const std::string& gnuplot) {
  std::vector<std::string> pngs;
  for (const PlotFiles& plot : PlanPlots(rows, dir)) {
    absl::StatusOr<std::string> png = Draw(dir, plot, gnuplot);
    if (!png.ok()) return png.status();
    pngs.push_back(*png);
  }
  return pngs;
}

}  // namespace zonealloc::bench
