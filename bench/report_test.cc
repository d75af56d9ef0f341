// SPDX-License-Identifier: Apache-2.0
#include "bench/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::HasSubstr;

Row MeasuredRow(std::string contender, bool zonealloc, std::vector<double> mops) {
  Row row{.cell = {.scenario = "pair", .threads = 1, .threads_used = 1, .block_size = 64},
          .contender = std::move(contender),
          .zonealloc = zonealloc};
  for (double one : mops) row.runs.push_back({.mops = one, .peak_rss_bytes = 1 << 20});
  FinishRow(row);
  return row;
}

TEST(ReportTest, TheMedianIsTakenPerMetric) {
  Row row = MeasuredRow("glibc", false, {30, 10, 20});
  row.runs[0].p99_ns = 500;
  row.runs[1].p99_ns = 100;
  row.runs[2].p99_ns = 900;
  FinishRow(row);
  EXPECT_DOUBLE_EQ(row.median.mops, 20);
  EXPECT_DOUBLE_EQ(row.median.p99_ns, 500);
}

TEST(ReportTest, RatiosAreToGlibcAndToTheBestPeerNotToZonealloc) {
  std::vector<Row> rows = {MeasuredRow("zone", true, {90}), MeasuredRow("glibc", false, {20}),
                           MeasuredRow("tcmalloc", false, {60})};
  FillRatios(rows);
  EXPECT_DOUBLE_EQ(rows[0].x_glibc, 4.5);
  EXPECT_DOUBLE_EQ(rows[0].x_best_peer, 1.5);  // zone is not its own peer
  EXPECT_DOUBLE_EQ(rows[2].x_best_peer, 1.0);
}

TEST(ReportTest, TheTableSaysWhatWasNotMeasured) {
  std::vector<Row> rows = {MeasuredRow("glibc", false, {20})};
  rows.push_back({.cell = rows[0].cell,
                  .contender = "jemalloc",
                  .outcome = Row::Outcome::kNotInstalled,
                  .detail = "libjemalloc.so.2 missing"});
  rows.push_back({.cell = rows[0].cell,
                  .contender = "zone",
                  .outcome = Row::Outcome::kFailed,
                  .detail = "4 allocations returned nullptr"});
  FillRatios(rows);
  const std::string table = FormatTable(rows, TableStyle::kText);
  EXPECT_THAT(table, HasSubstr("not installed (libjemalloc.so.2 missing)"));
  EXPECT_THAT(table, HasSubstr("FAILED: 4 allocations returned nullptr"));
  EXPECT_THAT(FormatTable(rows, TableStyle::kMarkdown),
              HasSubstr("| pair | 1 | 64 | glibc | 20.00 |"));
}

// A zone row whose runs allocated and freed `allocations` blocks each, half
// of them in the timed part, and counted `slow_path_entries`.
Row ZoneRow(std::vector<int64_t> allocations, std::vector<int64_t> slow_path_entries) {
  Row row{.cell = {.scenario = "fill", .threads = 1, .threads_used = 1, .block_size = 64},
          .contender = "zone",
          .zonealloc = true};
  for (size_t i = 0; i < allocations.size(); ++i) {
    row.runs.push_back({.ops = allocations[i] / 2,
                        .allocations = allocations[i],
                        .mops = 10,
                        .zone_events = ZoneEvents{.slow_path_entries = slow_path_entries[i],
                                                  .cache_drains = 3,
                                                  .overflow_allocations = 250000,
                                                  .extensions = 0}});
  }
  FinishRow(row);
  return row;
}

// Per million of the whole run's ops, the span the zone counts cover: the
// timed ops alone would put the set-up's events over a count that grows
// with speed.
TEST(ReportTest, ZoneEventsAreMedianRatesPerMillionOpsOfTheWholeRun) {
  // Rates per Mop: 10, 30, 20 slow-path entries; 1.5, 1, 3 drains.
  const Row row = ZoneRow({2000000, 3000000, 1000000}, {20, 90, 20});
  ASSERT_TRUE(row.zone_events_per_mop.has_value());
  EXPECT_DOUBLE_EQ(row.zone_events_per_mop->slow_path_entries, 20);
  EXPECT_DOUBLE_EQ(row.zone_events_per_mop->cache_drains, 1.5);
  EXPECT_DOUBLE_EQ(row.zone_events_per_mop->overflow_allocations, 125000);
  EXPECT_DOUBLE_EQ(row.zone_events_per_mop->extensions, 0);
}

TEST(ReportTest, TheTableShowsZoneEventsForZonesAndADashForPeers) {
  std::vector<Row> rows = {ZoneRow({2000000}, {20}), MeasuredRow("glibc", false, {20})};
  rows[1].cell = rows[0].cell;
  EXPECT_FALSE(rows[1].zone_events_per_mop.has_value());
  FillRatios(rows);
  const std::string table = FormatTable(rows, TableStyle::kText);
  EXPECT_THAT(table, HasSubstr("slow/drain/ovf/ext per Mop"));
  EXPECT_THAT(table, HasSubstr("10/1.5/125000/0\n"));
  const std::string markdown = FormatTable(rows, TableStyle::kMarkdown);
  EXPECT_THAT(markdown, HasSubstr("| 10/1.5/125000/0 |\n"));
  EXPECT_THAT(markdown, HasSubstr("| 1.0 | 0.0 | - |\n"));  // glibc: RSS, then no zone events
  const std::string json = SummaryJson(rows, {.matrix = "custom", .repetitions = 1});
  EXPECT_THAT(json, HasSubstr("\"zone_events_per_mop\":{\"slow_path_entries\":10,"));
  EXPECT_THAT(json, HasSubstr("\"zone_events_per_mop\":null"));
}

TEST(ReportTest, TheSummaryNamesTheCommitAndEachLibrarysVersion) {
  const ReportHeading heading{
      .versions = {.zonealloc_commit = "463d5bf1c0de",
                   .libraries = {{"glibc", "2.36-9+deb12u14"}, {"jemalloc", "5.3.0-1"}}},
      .matrix = "default",
      .repetitions = 3};
  const std::string json = SummaryJson({MeasuredRow("glibc", false, {30, 10, 20})}, heading);
  EXPECT_THAT(json, HasSubstr("\"zonealloc_commit\":\"463d5bf1c0de\""));
  EXPECT_THAT(json,
              HasSubstr("\"libraries\":{\"glibc\":\"2.36-9+deb12u14\",\"jemalloc\":\"5.3.0-1\"}"));
  // The spread of the repetitions, which the plots draw as error bars.
  EXPECT_THAT(json,
              HasSubstr("\"mops_per_repetition\":[30,10,20],\"mops_min\":10,\"mops_max\":30"));
}

TEST(ReportTest, TheHeadingNamesTheCommitAndTheLibraries) {
  const ReportHeading heading{
      .versions = {.zonealloc_commit = "unknown", .libraries = {{"jemalloc", "5.3.0-1"}}},
      .matrix = "default",
      .repetitions = 3,
      .duration_ms = 250};
  const std::string text = FormatHeading(heading, TableStyle::kText);
  EXPECT_THAT(text,
              HasSubstr("default matrix, median of 3 x 250 ms, threads pinned round-robin; "));
  EXPECT_THAT(text, HasSubstr("\nzonealloc unknown; jemalloc 5.3.0-1\n"));
  EXPECT_THAT(FormatHeading(heading, TableStyle::kMarkdown),
              HasSubstr("  \nzonealloc unknown; jemalloc 5.3.0-1  \n"));
  ReportHeading unpinned = heading;
  unpinned.pin_threads = false;
  EXPECT_THAT(FormatHeading(unpinned, TableStyle::kText),
              HasSubstr("250 ms, threads placed by the kernel; "));
}

}  // namespace
}  // namespace zonealloc::bench
