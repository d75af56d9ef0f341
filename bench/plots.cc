#include "bench/plots.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/child_process.h"
#include "bench/json_writer.h"

namespace zonealloc::bench {
namespace {

// One line of a plot: its points ("x y" lines), or a data file to read.
struct Series {
  std::string title;
  std::string points;
  std::string file;        // used when points is empty
  bool zonealloc = false;  // drawn thicker
};

// Ten distinct colours, one per contender (gnuplot's default set has eight,
// so zone and pmr_sync would share one).
constexpr const char* kColors[] = {"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Plot {
  std::string name;   // file name without extension
  std::string setup;  // gnuplot commands: title, axes
  std::vector<Series> series;
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

std::string BlockName(size_t block_size) {
  return block_size == 0 ? "mix" : absl::StrFormat("%dB", block_size);
}

std::vector<Plot> ThroughputPlots(const std::vector<Row>& rows) {
  std::vector<Plot> plots;
  for (const Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured) continue;
    const std::string block = BlockName(row.cell.block_size);
    Plot& plot = FindOrAdd(plots, &Plot::name,
                           absl::StrFormat("throughput_%s_%s", row.cell.scenario, block));
    plot.setup = absl::StrFormat(
        "set title '%s, %s blocks: allocate+free throughput (median)'\n"
        "set xlabel 'threads'\nset ylabel 'Mops/s'\nset logscale x 2\nset yrange [0:*]",
        row.cell.scenario, block);
    Series& series = FindOrAdd(plot.series, &Series::title, row.contender);
    series.zonealloc = row.zonealloc;
    absl::StrAppendFormat(&series.points, "%d %.4f\n", row.cell.threads_used, row.median.mops);
  }
  return plots;
}

std::vector<Plot> BurstRssPlots(const std::vector<Row>& rows) {
  std::vector<Plot> plots;
  for (const Row& row : rows) {
    if (row.outcome != Row::Outcome::kMeasured || row.median_rss_file.empty()) continue;
    const std::string block = BlockName(row.cell.block_size);
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

// Writes <dir>/<name>.dat (the inline series, as data blocks separated by
// two blank lines) and <dir>/<name>.gp, and runs gnuplot on the script.
absl::StatusOr<std::string> Draw(const std::string& dir, const Plot& plot,
                                 const std::string& gnuplot) {
  const std::string data_path = absl::StrFormat("%s/%s.dat", dir, plot.name);
  const std::string png_path = absl::StrFormat("%s/%s.png", dir, plot.name);
  std::string data;
  std::string colors;
  std::vector<std::string> terms;
  int index = 0;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& series = plot.series[i];
    absl::StrAppendFormat(&colors, "set linetype %d lc rgb '%s'\n", i + 1,
                          kColors[i % std::size(kColors)]);
    const std::string style =
        absl::StrFormat("lt %d lw %d title '%s'", i + 1, series.zonealloc ? 4 : 2, series.title);
    if (series.points.empty()) {
      terms.push_back(absl::StrFormat("'%s' using 1:2 with lines %s", series.file, style));
    } else {
      absl::StrAppendFormat(&data, "# %s\n%s\n\n", series.title, series.points);
      terms.push_back(absl::StrFormat("'%s' index %d using 1:2 with linespoints %s", data_path,
                                      index++, style));
    }
  }
  if (!data.empty()) {
    if (absl::Status written = WriteFile(data_path, data); !written.ok()) return written;
  }
  const std::string script_path = absl::StrFormat("%s/%s.gp", dir, plot.name);
  const std::string script = absl::StrFormat(
      "set terminal pngcairo size 1000,600 noenhanced\nset output '%s'\n"
      "set key outside right\nset grid\n%s%s\nplot %s\n",
      png_path, colors, plot.setup, absl::StrJoin(terms, ", \\\n     "));
  if (absl::Status written = WriteFile(script_path, script); !written.ok()) return written;
  absl::StatusOr<ChildExit> exit = RunChildProcess(gnuplot, {script_path}, "", absl::Seconds(60));
  if (!exit.ok()) return exit.status();
  if (exit->exit_code != 0) {
    return absl::InternalError(absl::StrFormat("gnuplot %s: %s", script_path, exit->Describe()));
  }
  return png_path;
}

}  // namespace

std::string FindGnuplot() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin", ':')) {
    const std::string candidate = absl::StrFormat("%s/gnuplot", std::string(dir));
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<std::vector<std::string>> DrawPlots(const std::vector<Row>& rows,
                                                   const std::string& dir,
                                                   const std::string& gnuplot) {
  std::vector<Plot> plots = ThroughputPlots(rows);
  for (Plot& plot : BurstRssPlots(rows)) plots.push_back(std::move(plot));
  std::vector<std::string> pngs;
  for (const Plot& plot : plots) {
    absl::StatusOr<std::string> png = Draw(dir, plot, gnuplot);
    if (!png.ok()) return png.status();
    pngs.push_back(*png);
  }
  return pngs;
}

}  // namespace zonealloc::bench
