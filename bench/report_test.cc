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

}  // namespace
}  // namespace zonealloc::bench
