// PNG plots of a benchmark run, drawn by gnuplot when it is installed:
//
//   throughput_<scenario>_<block>.png  Mops/s against threads, a line per
//                                      allocator (one per scenario and size)
//   burst_rss_t<threads>_<block>.png   RSS over time in `burst`, a line per
//                                      allocator (from its median run)
//
// The data and gnuplot scripts are written beside the PNGs, so a plot can be
// redrawn or restyled by hand.

#ifndef ZONEALLOC_BENCH_PLOTS_H_
#define ZONEALLOC_BENCH_PLOTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/report.h"

namespace zonealloc::bench {

// gnuplot's path from PATH, or empty when it is not installed.
std::string FindGnuplot();

// Writes the plots of `rows` into `dir` with `gnuplot`; returns the PNGs.
absl::StatusOr<std::vector<std::string>> DrawPlots(const std::vector<Row>& rows,
                                                   const std::string& dir,
                                                   const std::string& gnuplot);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_PLOTS_H_
