// SPDX-License-Identifier: Apache-2.0
#include "bench/matrix.h"

#include <algorithm>
#include <set>
#include <utility>

#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

int CountCells(const std::vector<Cell>& cells, std::string_view scenario) {
  return static_cast<int>(std::count_if(cells.begin(), cells.end(),
                                        [&](const Cell& c) { return c.scenario == scenario; }));
}

TEST(MatrixTest, BlockSizeTextNamesTheMixWhereTheScenarioPicksSizes) {
  EXPECT_EQ(BlockSizeText(64), "64");
  EXPECT_EQ(BlockSizeText(64, "B"), "64B");
  EXPECT_EQ(BlockSizeText(0), "mix");
  EXPECT_EQ(BlockSizeText(0, "B"), "mix");
}

TEST(MatrixTest, TheDefaultMatrixRunsFiveScenariosAtOneAndTwiceTheCpusAndFillAtOne) {
  const std::vector<Cell> cells = BuildMatrix(MatrixKind::kDefault, /*cpus=*/2);
  ASSERT_EQ(cells.size(), 11u);
  EXPECT_EQ(CountCells(cells, "server"), 0);
  EXPECT_EQ(cells[0].scenario, "pair");
  EXPECT_EQ(cells[0].threads, 1);
  EXPECT_EQ(cells[1].threads, 4);
  EXPECT_EQ(cells[0].block_size, 64u);
  EXPECT_EQ(cells.back().scenario, "fill");
  EXPECT_EQ(cells.back().threads, 1);
  EXPECT_EQ(CountCells(cells, "fill"), 1);
}

TEST(MatrixTest, FillRunsAtOneThreadAnd64BytesUnlessAskedOtherwise) {
  for (MatrixKind kind : {MatrixKind::kDefault, MatrixKind::kFull, MatrixKind::kSmoke}) {
    const std::vector<Cell> cells = BuildMatrix(kind, 2);
    ASSERT_EQ(CountCells(cells, "fill"), 1);
    const Cell& fill = *std::find_if(cells.begin(), cells.end(),
                                     [](const Cell& c) { return c.scenario == "fill"; });
    EXPECT_EQ(fill.threads, 1);
    EXPECT_EQ(fill.block_size, 64u);
  }
  const std::vector<Cell> asked = BuildMatrix(
      MatrixKind::kDefault, 2, {.scenarios = {"fill"}, .threads = {1, 2}, .block_sizes = {16}});
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].threads, 2);
  EXPECT_EQ(asked[1].block_size, 16u);
}

TEST(MatrixTest, ProdConsAtOneThreadRunsOnePair) {
  for (const Cell& cell : BuildMatrix(MatrixKind::kDefault, 2)) {
    if (cell.scenario == "prodcons" && cell.threads == 1) {
      EXPECT_EQ(cell.threads_used, 2);
    }
  }
}

TEST(MatrixTest, TheFullMatrixKeepsOneServerCellPerThreadCount) {
  const std::vector<Cell> cells = BuildMatrix(MatrixKind::kFull, 2);
  EXPECT_EQ(CountCells(cells, "server"), 4);        // 1, 2, 4, 8 threads
  EXPECT_EQ(CountCells(cells, "pair"), 16);         // 4 sizes x 4 thread counts
  EXPECT_EQ(CountCells(cells, "prodcons"), 4 * 3);  // 1 and 2 threads both run one pair
}

TEST(MatrixTest, SingleThreadAllocatorsRunOnlyOnOneThread) {
  const Contender unsync{.label = "unsync", .single_thread = true};
  EXPECT_TRUE(ContenderRunsIn(unsync, {.scenario = "pair", .threads = 1, .threads_used = 1}));
  EXPECT_FALSE(ContenderRunsIn(unsync, {.scenario = "prodcons", .threads = 1, .threads_used = 2}));
}

TEST(MatrixTest, EachRepetitionIsAnOrderOfEveryContender) {
  EXPECT_EQ(TurnOrder(6, 1), (std::vector<size_t>{0, 1, 5, 2, 4, 3}));
  EXPECT_EQ(TurnOrder(6, 2), (std::vector<size_t>{1, 2, 0, 3, 5, 4}));
  EXPECT_TRUE(TurnOrder(0, 1).empty());
  for (size_t n = 1; n <= 13; ++n) {
    for (int repetition = 1; repetition <= 4; ++repetition) {
      std::vector<size_t> order = TurnOrder(n, repetition);
      std::sort(order.begin(), order.end());
      for (size_t k = 0; k < n; ++k) ASSERT_EQ(order[k], k) << n << " contenders";
    }
  }
}

// Who runs just before a contender moves its figures (the machine's state
// after the previous run), so no contender should keep the same neighbour.
TEST(MatrixTest, NoContenderRunsFirstOrAfterTheSameOneTwice) {
  for (const size_t n : {2, 10, 12}) {  // the default matrix's cells have 10 and 12
    std::set<size_t> firsts;
    std::set<std::pair<size_t, size_t>> neighbours;  // (before, after)
    for (int repetition = 1; repetition <= static_cast<int>(n); ++repetition) {
      const std::vector<size_t> order = TurnOrder(n, repetition);
      EXPECT_TRUE(firsts.insert(order[0]).second) << n << " contenders, repetition " << repetition;
      for (size_t k = 1; k < n; ++k) {
        EXPECT_TRUE(neighbours.insert({order[k - 1], order[k]}).second)
            << order[k] << " after " << order[k - 1] << " again, " << n << " contenders";
      }
    }
  }
}

TEST(MatrixTest, SmokeRunsAreTinyAndCounted) {
  const std::vector<std::string> args =
      WorkerArgs({.scenario = "batch", .threads = 2, .threads_used = 2, .block_size = 64},
                 MatrixKind::kSmoke, 250);
  EXPECT_NE(std::find(args.begin(), args.end(), "--ops=20000"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--fill_blocks=131072"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--duration_ms=250"), args.end());
}

TEST(MatrixTest, EveryContenderRunsTheSameFillRounds) {
  const std::vector<std::string> args =
      WorkerArgs({.scenario = "fill", .threads = 1, .threads_used = 1, .block_size = 64},
                 MatrixKind::kDefault, 250);
  EXPECT_NE(std::find(args.begin(), args.end(), "--fill_blocks=1048576"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--ops=4194304"), args.end()) << "4 rounds";
  EXPECT_EQ(std::find(args.begin(), args.end(), "--duration_ms=250"), args.end());
}

TEST(MatrixTest, ThreadsArePinnedUnlessTheDriverIsToldNotTo) {
  const Cell cell{.scenario = "prodcons", .threads = 4, .threads_used = 4, .block_size = 64};
  const std::string unpinned = "--pin_threads=false";
  const std::vector<std::string> pinned = WorkerArgs(cell, MatrixKind::kDefault, 250);
  EXPECT_EQ(std::find(pinned.begin(), pinned.end(), unpinned), pinned.end())
      << "the worker pins by default";
  const std::vector<std::string> kernel_placed =
      WorkerArgs(cell, MatrixKind::kDefault, 250, /*pin_threads=*/false);
  EXPECT_NE(std::find(kernel_placed.begin(), kernel_placed.end(), unpinned), kernel_placed.end());
}

}  // namespace
}  // namespace zonealloc::bench
