// SPDX-License-Identifier: Apache-2.0
#include "bench/plots.h"

#include <set>

#include "absl/strings/str_format.h"
#include "bench/contenders.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A measured row of `scenario` at `threads` whose repetitions ran at `mops`.
Row Measured(std::string scenario, int threads, std::string contender, std::vector<double> mops) {
  Row row{.cell = {.scenario = std::move(scenario),
                   .threads = threads,
                   .threads_used = threads,
                   .block_size = 64},
          .contender = std::move(contender)};
  for (double one : mops) row.runs.push_back({.mops = one});
  FinishRow(row);
  return row;
}

const PlotFiles& PlotNamed(const std::vector<PlotFiles>& plots, const std::string& name) {
  for (const PlotFiles& plot : plots) {
    if (plot.name == name) return plot;
  }
  ADD_FAILURE() << "no plot " << name;
  static const PlotFiles kNone;
  return kNone;
}

TEST(PlotsTest, EveryContenderHasAColourOfItsOwn) {
  std::vector<std::string> labels = {"zone_debug"};  // a debug-build contender
  for (const Contender& contender : AllContenders("/nonexistent")) {
    labels.push_back(contender.label);
  }
  std::set<std::string_view> colors;
  for (const std::string& label : labels) {
    EXPECT_NE(AllocatorColor(label), kUnlistedColor) << label << " has no colour";
    colors.insert(AllocatorColor(label));
  }
  EXPECT_EQ(colors.size(), std::set<std::string>(labels.begin(), labels.end()).size());
  EXPECT_EQ(AllocatorColor("no_such_allocator"), kUnlistedColor);
}

TEST(PlotsTest, AnAllocatorKeepsItsColourWhateverComesBeforeIt) {
  // pmr_sync is the second line of the pair plot and the first of batch's.
  const std::vector<Row> rows = {Measured("pair", 1, "zone", {50}),
                                 Measured("pair", 1, "pmr_sync", {20}),
                                 Measured("batch", 1, "pmr_sync", {10})};
  const std::vector<PlotFiles> plots = PlanPlots(rows, "/out");
  const std::string pmr_sync =
      absl::StrFormat("lc rgb '%s' lw 2 title 'pmr_sync'", AllocatorColor("pmr_sync"));
  EXPECT_THAT(PlotNamed(plots, "throughput_pair_64B").script, HasSubstr(pmr_sync));
  EXPECT_THAT(PlotNamed(plots, "throughput_batch_64B").script, HasSubstr(pmr_sync));
  EXPECT_NE(AllocatorColor("pmr_sync"), AllocatorColor("zone"));
}

TEST(PlotsTest, TicksSitAtTheMeasuredThreadCounts) {
  const std::vector<Row> rows = {Measured("pair", 4, "glibc", {20}),
                                 Measured("pair", 1, "glibc", {10}),
                                 Measured("pair", 6, "glibc", {25})};
  const std::string script = PlanPlots(rows, "/out")[0].script;
  EXPECT_THAT(script, HasSubstr("set xtics (1, 4, 6)\n"));
  EXPECT_THAT(script, HasSubstr("set logscale x 2\n"));
}

TEST(PlotsTest, BarsRunFromTheSlowestToTheFastestRepetition) {
  const std::vector<PlotFiles> plots = PlanPlots({Measured("pair", 2, "zone", {30, 10, 20})}, "/o");
  ASSERT_EQ(plots.size(), 1u);
  EXPECT_THAT(plots[0].data, HasSubstr("2 20.0000 10.0000 30.0000\n"));  // median, min, max
  EXPECT_THAT(
      plots[0].script,
      HasSubstr(
          "'/o/throughput_pair_64B.dat' index 0 using ($1*2**(0.000)):2:3:4 with yerrorlines"));
}

TEST(PlotsTest, PointsOfOneThreadCountAreSpreadSoBarsDoNotHideEachOther) {
  const std::vector<PlotFiles> plots =
      PlanPlots({Measured("pair", 2, "zone", {30}), Measured("pair", 2, "glibc", {20}),
                 Measured("pair", 2, "jemalloc", {25})},
                "/o");
  ASSERT_EQ(plots.size(), 1u);
  EXPECT_THAT(plots[0].script, HasSubstr("index 0 using ($1*2**(-0.030)):2:3:4"));
  EXPECT_THAT(plots[0].script, HasSubstr("index 1 using ($1*2**(0.000)):2:3:4"));
  EXPECT_THAT(plots[0].script, HasSubstr("index 2 using ($1*2**(0.030)):2:3:4"));
}

TEST(PlotsTest, TheLogScaleRuleIsASpanOfMoreThan100x) {
  EXPECT_FALSE(WantsLogScale({}));
  EXPECT_FALSE(WantsLogScale({2, 200}));  // exactly 100x
  EXPECT_TRUE(WantsLogScale({2, 200.5}));
  EXPECT_FALSE(WantsLogScale({0, 3, 250}));  // 0 cannot be drawn on a log axis, so not counted
  EXPECT_TRUE(WantsLogScale({0.27, 33.4}));  // prodcons: pmr_sync against zone
}

TEST(PlotsTest, APlotSpanningMoreThan100xGetsALogYAxis) {
  const std::vector<Row> wide = {Measured("prodcons", 2, "zone", {33}),
                                 Measured("prodcons", 2, "pmr_sync", {0.27})};
  const std::string wide_script = PlanPlots(wide, "/out")[0].script;
  EXPECT_THAT(wide_script, HasSubstr("set logscale y 10\n"));
  EXPECT_THAT(wide_script, Not(HasSubstr("set yrange [0:*]")));

  const std::vector<Row> narrow = {Measured("pair", 1, "zone", {120}),
                                   Measured("pair", 1, "glibc", {55})};
  const std::string narrow_script = PlanPlots(narrow, "/out")[0].script;
  EXPECT_THAT(narrow_script, Not(HasSubstr("logscale y")));
  EXPECT_THAT(narrow_script, HasSubstr("set yrange [0:*]\n"));

  // One stalled repetition stretches a bar, not the axis.
  const std::vector<Row> stalled = {Measured("batch", 1, "zone", {22, 0.07, 30}),
                                    Measured("batch", 1, "glibc", {7})};
  EXPECT_THAT(PlanPlots(stalled, "/out")[0].script, HasSubstr("set yrange [0:*]\n"));
}

TEST(PlotsTest, BurstRssPlotsUseTheSameColours) {
  Row row = Measured("burst", 4, "jemalloc", {60});
  row.rss_files = {"/runs/burst.rss.tsv"};
  FinishRow(row);
  const std::string script = PlotNamed(PlanPlots({row}, "/out"), "burst_rss_t4_64B").script;
  EXPECT_THAT(script,
              HasSubstr(absl::StrFormat("'/runs/burst.rss.tsv' using 1:2 with lines lc rgb '%s'",
                                        AllocatorColor("jemalloc"))));
}

}  // namespace
}  // namespace zonealloc::bench
