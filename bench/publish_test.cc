// SPDX-License-Identifier: Apache-2.0
#include "bench/publish.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// An empty folder of its own for each test.
fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("publish_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A matrix whose burst cells at 64 B go up to 4 threads.
std::vector<Row> Rows() {
  return {
      Row{.cell = {.scenario = "pair", .block_size = 64}, .contender = "zone"},
      Row{.cell = {.scenario = "burst", .threads_used = 2, .block_size = 64}, .contender = "zone"},
      Row{.cell = {.scenario = "burst", .threads_used = 4, .block_size = 64}, .contender = "zone"}};
}

// A run folder holding every file Publish() wants, each saying its name.
fs::path CompleteRun(const std::string& name) {
  const fs::path run = FreshDir(name);
  for (const auto& [from, to] : PublishedFiles(Rows())) WriteText(run / from, from);
  return run;
}

TEST(PublishTest, CopiesEveryFileUnderItsFixedName) {
  const fs::path run = CompleteRun("complete_run");
  const fs::path published = FreshDir("complete_published");

  ASSERT_TRUE(Publish(Rows(), run, published).ok());
  EXPECT_EQ(ReadText(published / "pair.png"), "throughput_pair_64B.png");
  EXPECT_EQ(ReadText(published / "burst_rss.png"), "burst_rss_t4_64B.png");
  EXPECT_EQ(ReadText(published / "table.md"), "table.md");
  EXPECT_EQ(ReadText(published / "summary.json"), "summary.json");
  EXPECT_EQ(std::distance(fs::directory_iterator(published), {}), 6);  // nothing left over
}

TEST(PublishTest, AMissingPlotPublishesNothing) {
  const fs::path run = CompleteRun("missing_run");
  fs::remove(run / "throughput_batch_64B.png");
  const fs::path published = FreshDir("missing_published");
  WriteText(published / "table.md", "the last complete run");

  const absl::Status status = Publish(Rows(), run, published);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("throughput_batch_64B.png"));
  EXPECT_EQ(ReadText(published / "table.md"), "the last complete run");
  EXPECT_FALSE(fs::exists(published / "pair.png"));
}

TEST(PublishTest, AFailedRowPublishesNothing) {
  const fs::path run = CompleteRun("failed_run");
  std::vector<Row> rows = Rows();
  rows[0].outcome = Row::Outcome::kFailed;
  const fs::path published = FreshDir("failed_published");

  const absl::Status status = Publish(rows, run, published);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("FAILED"));
  EXPECT_TRUE(fs::is_empty(published));
}

}  // namespace
}  // namespace zonealloc::bench
