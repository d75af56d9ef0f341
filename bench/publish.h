// SPDX-License-Identifier: Apache-2.0
// Publish copies the figures bench/README.md shows out of one run's folder
// into bench/results (the driver's --publish_dir), under fixed names:
//
//   throughput_pair_64B.png       -> pair.png
//   throughput_batch_64B.png      -> batch.png
//   throughput_burst_64B.png      -> burst.png
//   burst_rss_t<most>_64B.png     -> burst_rss.png  (burst at the most threads)
//   table.md, summary.json        -> the same names
//
// It publishes a whole run or nothing: when a row failed or a file is
// missing it says why and leaves the folder as it was, so the published
// table, summary and plots always come from one complete run.
//
//   absl::Status published = Publish(rows, "build/bench-results/latest", "bench/results");
//   if (!published.ok()) ...  // nothing in bench/results changed

#ifndef ZONEALLOC_BENCH_PUBLISH_H_
#define ZONEALLOC_BENCH_PUBLISH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "bench/report.h"

namespace zonealloc::bench {

// The files Publish() copies for `rows`: {name in the run folder, published name}.
std::vector<std::pair<std::string, std::string>> PublishedFiles(const std::vector<Row>& rows);

// Copies PublishedFiles(rows) from `run_dir` into `publish_dir` (created if
// need be). FailedPrecondition, touching nothing, when a row failed or a
// file is missing from `run_dir`; Internal when a copy fails (no published
// file has been replaced then) or, unlikely, a rename of a copied file.
absl::Status Publish(const std::vector<Row>& rows, const std::string& run_dir,
                     const std::string& publish_dir);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_PUBLISH_H_
