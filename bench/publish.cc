// SPDX-License-Identifier: Apache-2.0
#include "bench/publish.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_format.h"

namespace zonealloc::bench {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> PublishedFiles(const std::vector<Row>& rows) {
  int most_burst_threads = 0;
  for (const Row& row : rows) {
    if (row.cell.scenario == "burst" && row.cell.block_size == 64) {
      most_burst_threads = std::max(most_burst_threads, row.cell.threads_used);
    }
  }
  return {
      {"throughput_pair_64B.png", "pair.png"},
      {"throughput_batch_64B.png", "batch.png"},
      {"throughput_burst_64B.png", "burst.png"},
      {absl::StrFormat("burst_rss_t%d_64B.png", most_burst_threads), "burst_rss.png"},
      {"table.md", "table.md"},
      {"summary.json", "summary.json"},
  };
}

absl::Status Publish(const std::vector<Row>& rows, const std::string& run_dir,
                     const std::string& publish_dir) {
  const auto failed = std::count_if(rows.begin(), rows.end(), [](const Row& row) {
    return row.outcome == Row::Outcome::kFailed;
  });
  if (failed > 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%d row(s) FAILED in this run; not publishing a partial run", failed));
  }
  const std::vector<std::pair<std::string, std::string>> files = PublishedFiles(rows);
  std::error_code error;
  for (const auto& [from, to] : files) {
    if (!fs::is_regular_file(fs::path(run_dir) / from, error)) {
      const bool plot = from.ends_with(".png");
      return absl::FailedPreconditionError(absl::StrFormat(
          "no %s in %s%s", from, run_dir,
          plot ? " (plots need gnuplot, and the matrix needs pair, batch and burst at 64 B)" : ""));
    }
  }

  // Copy everything beside its final name first, then rename: a failed copy
  // leaves the published files as they were.
  fs::create_directories(publish_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrFormat("cannot create %s: %s", publish_dir, error.message()));
  }
  auto staged = [&](const std::string& to) { return fs::path(publish_dir) / (to + ".new"); };
  for (const auto& [from, to] : files) {
    fs::copy_file(fs::path(run_dir) / from, staged(to), fs::copy_options::overwrite_existing,
                  error);
    if (error) {
      const std::string message = error.message();
      for (const auto& [unused, name] : files) fs::remove(staged(name), error);
      return absl::InternalError(
          absl::StrFormat("cannot copy %s to %s: %s", from, publish_dir, message));
    }
  }
  for (const auto& [from, to] : files) {
    fs::rename(staged(to), fs::path(publish_dir) / to, error);
    if (error) {
      return absl::InternalError(
          absl::StrFormat("cannot rename %s: %s", staged(to).string(), error.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace zonealloc::bench
