// SPDX-License-Identifier: Apache-2.0
// PNG plots of a benchmark run, drawn by gnuplot when it is installed:
//
//   throughput_<scenario>_<block>.png  Mops/s against threads, a line per
//                                      allocator (one per scenario and size):
//                                      the median, with a bar from the
//                                      slowest to the fastest repetition
//   burst_rss_t<threads>_<block>.png   RSS over time in `burst`, a line per
//                                      allocator (from its median run)
//
// Each allocator keeps one colour in every plot (AllocatorColor), so plots
// can be read side by side. x ticks sit at the thread counts measured. The
// y axis turns logarithmic when a plot's points (medians) span more than
// 100x, where a linear axis would flatten every line but the fastest.
//
// The data and gnuplot scripts are written beside the PNGs, so a plot can be
// redrawn or restyled by hand.

#ifndef ZONEALLOC_BENCH_PLOTS_H_
#define ZONEALLOC_BENCH_PLOTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/report.h"

namespace zonealloc::bench {

// The fixed colour ("#rrggbb") of every contender in bench/contenders.cc
// (and zone_debug); no two share one. An allocator not in the list is drawn
// in kUnlistedColor.
std::string_view AllocatorColor(std::string_view allocator);
inline constexpr std::string_view kUnlistedColor = "#c0c0c0";

// True when the positive `values` of a plot span more than 100x (largest
// over smallest): the plot gets a logarithmic y axis. A throughput plot
// asks about its medians (its points), not the ends of its bars.
bool WantsLogScale(const std::vector<double>& values);

// One plot before it is drawn: <name>.gp, and <name>.dat when `data` is not
// empty. Exposed for tests.
struct PlotFiles {
  std::string name;  // file name without extension
  std::string script;
  std::string data;
};

// The plots of `rows`, to be written into `dir`.
std::vector<PlotFiles> PlanPlots(const std::vector<Row>& rows, const std::string& dir);

// gnuplot's path from PATH, or empty when it is not installed.
std::string FindGnuplot();

// Writes the plots of `rows` into `dir` with `gnuplot`; returns the PNGs.
absl::StatusOr<std::vector<std::string>> DrawPlots(const std::vector<Row>& rows,
                                                   const std::string& dir,
                                                   const std::string& gnuplot);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_PLOTS_H_
