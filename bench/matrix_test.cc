#include "bench/matrix.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

int CountCells(const std::vector<Cell>& cells, std::string_view scenario) {
  return static_cast<int>(std::count_if(cells.begin(), cells.end(),
                                        [&](const Cell& c) { return c.scenario == scenario; }));
}

TEST(MatrixTest, TheDefaultMatrixRunsFiveScenariosAtOneAndTwiceTheCpus) {
  const std::vector<Cell> cells = BuildMatrix(MatrixKind::kDefault, /*cpus=*/2);
  ASSERT_EQ(cells.size(), 10u);
  EXPECT_EQ(CountCells(cells, "server"), 0);
  EXPECT_EQ(cells[0].scenario, "pair");
  EXPECT_EQ(cells[0].threads, 1);
  EXPECT_EQ(cells[1].threads, 4);
  EXPECT_EQ(cells[0].block_size, 64u);
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

TEST(MatrixTest, SmokeRunsAreTinyAndCounted) {
  const std::vector<std::string> args =
      WorkerArgs({.scenario = "batch", .threads = 2, .threads_used = 2, .block_size = 64},
                 MatrixKind::kSmoke, 250);
  EXPECT_NE(std::find(args.begin(), args.end(), "--ops=20000"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--duration_ms=250"), args.end());
}

}  // namespace
}  // namespace zonealloc::bench
