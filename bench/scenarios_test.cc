// SPDX-License-Identifier: Apache-2.0
// Each scenario, run tiny, against real allocators and against broken ones:
// the self-check passes for the first and names the fault for the second.

#include "bench/scenarios.h"

#include <memory>
#include <vector>

#include "bench/thread_team.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Small enough to run in milliseconds; threads = 2 exercises remote frees.
ScenarioConfig TinyConfig(int threads) {
  return {.threads = threads,
          .block_size = 64,
          .ops = 20000,
          .batch_blocks = 128,
          .larson_slots = 64,
          .burst_blocks = 512,
          .burst_idle = absl::Milliseconds(1),
          .fill_blocks = 1024,
          .server_requests = 16};
}

ScenarioResult RunWith(const Scenario& scenario, const ScenarioConfig& config,
                       std::string_view allocator_name) {
  auto allocator = CreateAllocatorUnderTest(allocator_name, scenario.demand(config));
  EXPECT_TRUE(allocator.ok()) << allocator.status();
  absl::StatusOr<ScenarioResult> result = RunScenario(scenario, config, **allocator);
  EXPECT_TRUE(result.ok()) << result.status();
  return *std::move(result);
}

class EveryScenarioTest : public ::testing::TestWithParam<const Scenario*> {};

TEST_P(EveryScenarioTest, PassesItsSelfCheckOnAZone) {
  const Scenario& scenario = *GetParam();
  const ScenarioResult result = RunWith(scenario, TinyConfig(2), "zone");
  EXPECT_THAT(result.check_error, IsEmpty());
  EXPECT_GT(result.ops, 0);
  EXPECT_GT(result.mops(), 0);
  EXPECT_EQ(result.tally.allocations, result.tally.frees);
  EXPECT_GT(result.latency.samples, 0u);
}

TEST_P(EveryScenarioTest, PassesItsSelfCheckOnMalloc) {
  const ScenarioResult result = RunWith(*GetParam(), TinyConfig(2), "malloc");
  EXPECT_THAT(result.check_error, IsEmpty());
}

TEST_P(EveryScenarioTest, RunsForADurationWhenNoOpsAreGiven) {
  ScenarioConfig config = TinyConfig(1);
  config.ops = 0;
  config.duration = absl::Milliseconds(20);
  const ScenarioResult result = RunWith(*GetParam(), config, "zone");
  EXPECT_THAT(result.check_error, IsEmpty());
  EXPECT_GT(result.ops, 0);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, EveryScenarioTest, ::testing::ValuesIn([] {
                           std::vector<const Scenario*> all;
                           for (const Scenario& scenario : AllScenarios()) all.push_back(&scenario);
                           return all;
                         }()),
                         [](const auto& info) { return std::string(info.param->name); });

TEST(ScenarioTest, ProdConsRunsProducerConsumerPairs) {
  const Scenario& prodcons = *FindScenario("prodcons");
  EXPECT_EQ(prodcons.threads_used({.threads = 1}), 2);
  EXPECT_EQ(prodcons.threads_used({.threads = 4}), 4);
}

// prodcons's threads are producers 0..pairs-1, then their consumers: on two
// CPUs, producer i and consumer i always land on different ones.
TEST(ScenarioTest, ProdConsDealsEachConsumerAnotherCpuThanItsProducer) {
  EXPECT_EQ(ProdConsTurns(2), (std::vector<int>{0, 2, 1, 3}));
  const std::vector<int> two_cpus = {0, 1};
  EXPECT_EQ(DealCpus(ProdConsTurns(2), two_cpus), (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(DealCpus(ProdConsTurns(3), two_cpus), (std::vector<int>{0, 0, 0, 1, 1, 1}));
  const std::vector<int> four_cpus = {0, 1, 2, 3};
  EXPECT_EQ(DealCpus(ProdConsTurns(2), four_cpus), (std::vector<int>{0, 2, 1, 3}));
}

TEST(ScenarioTest, ThreadsArePinnedOnlyWhenTheConfigSaysSo) {
  ScenarioConfig config;
  EXPECT_EQ(TeamCpus(config, InOrderTurns(3)).size(), 3u);
  config.pin_threads = false;
  EXPECT_TRUE(TeamCpus(config, InOrderTurns(3)).empty());
}

TEST(ScenarioTest, BurstRecordsRssOverTime) {
  const ScenarioResult result = RunWith(*FindScenario("burst"), TinyConfig(1), "zone");
  EXPECT_GE(result.rss_over_time.size(), 2u);
}

TEST(ScenarioTest, FillRunsAtLeastOneRoundOfAllItsBlocks) {
  ScenarioConfig config = TinyConfig(1);
  config.ops = 1;
  const ScenarioResult result = RunWith(*FindScenario("fill"), config, "zone");
  EXPECT_THAT(result.check_error, IsEmpty());
  EXPECT_EQ(result.ops, 1024);
}

TEST(ScenarioTest, FillPastAZonesCapacityOverflowsAndExtendsIt) {
  ScenarioConfig config = TinyConfig(1);
  config.fill_blocks = 131072;  // more than any default zone (65536 blocks of 64 B at most)
  const ScenarioResult result = RunWith(*FindScenario("fill"), config, "zone");
  EXPECT_THAT(result.check_error, IsEmpty());
  ASSERT_TRUE(result.zone_counters.has_value());
  EXPECT_GT(result.zone_counters->slow_path_entries, 0);
  EXPECT_GT(result.zone_counters->overflow_allocations, 0);
  EXPECT_GT(result.zone_counters->extensions, 0);
  EXPECT_GE(result.zone_counters->capacity_blocks, 65536);
}

TEST(ScenarioTest, OnlyZonesReportZoneCounters) {
  for (const char* allocator : {"malloc", "unsync", "tbb_pool"}) {
    EXPECT_FALSE(RunWith(*FindScenario("pair"), TinyConfig(1), allocator).zone_counters.has_value())
        << allocator;
  }
  EXPECT_TRUE(
      RunWith(*FindScenario("pair"), TinyConfig(1), "zone_nocache").zone_counters.has_value());
}

TEST(ScenarioTest, RefusesASingleThreadAllocatorOnTwoThreads) {
  const Scenario& pair = *FindScenario("pair");
  auto allocator = CreateAllocatorUnderTest("unsync", pair.demand(TinyConfig(2)));
  ASSERT_TRUE(allocator.ok());
  EXPECT_FALSE(RunScenario(pair, TinyConfig(2), **allocator).ok());
}

TEST(ScenarioTest, RejectsBlocksTooSmallForTheStamp) {
  const Scenario& pair = *FindScenario("pair");
  ScenarioConfig config = TinyConfig(1);
  config.block_size = 8;
  auto allocator = CreateAllocatorUnderTest("malloc", pair.demand(config));
  ASSERT_TRUE(allocator.ok());
  EXPECT_FALSE(RunScenario(pair, config, **allocator).ok());
}

// ---- broken allocators cannot post a time --------------------------------

// Hands out the same block every time: two live blocks overlap.
class SameBlockSource final : public BlockSource {
 public:
  void* Allocate() override { return block_; }
  void Free(void*) override {}

 private:
  alignas(16) char block_[64];
};

// Fails every allocation.
class EmptySource final : public BlockSource {
 public:
  void* Allocate() override { return nullptr; }
  void Free(void*) override {}
};

// Hands out real blocks but claims one more is still in use.
class MiscountingSource final : public BlockSource {
 public:
  void* Allocate() override { return std::malloc(64); }
  void Free(void* block) override { std::free(block); }
  std::optional<int64_t> InUseBlocks() const override { return 1; }
};

template <typename Source>
AllocatorUnderTest BrokenAllocator() {
  std::vector<AllocatorUnderTest::SizedSource> sources;
  sources.push_back({64, std::make_unique<Source>()});
  return AllocatorUnderTest("broken", /*thread_safe=*/false, std::move(sources));
}

TEST(SelfCheckTest, CatchesABlockHandedOutTwice) {
  AllocatorUnderTest broken = BrokenAllocator<SameBlockSource>();
  absl::StatusOr<ScenarioResult> result =
      RunScenario(*FindScenario("batch"), TinyConfig(1), broken);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->check_error, HasSubstr("changed while live"));
}

TEST(SelfCheckTest, CatchesFailedAllocations) {
  AllocatorUnderTest broken = BrokenAllocator<EmptySource>();
  absl::StatusOr<ScenarioResult> result =
      RunScenario(*FindScenario("larson"), TinyConfig(1), broken);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->check_error, HasSubstr("returned nullptr"));
}

TEST(SelfCheckTest, CatchesAnAllocatorThatLosesCount) {
  AllocatorUnderTest broken = BrokenAllocator<MiscountingSource>();
  absl::StatusOr<ScenarioResult> result = RunScenario(*FindScenario("pair"), TinyConfig(1), broken);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->check_error, HasSubstr("in use after all were freed"));
}

TEST(SelfCheckTest, CatchesLostBlocks) {
  ScenarioResult result;
  result.tally = {.allocations = 10, .frees = 9};
  AllocatorUnderTest allocator = BrokenAllocator<MiscountingSource>();
  EXPECT_THAT(SelfCheck(result, allocator), HasSubstr("10 blocks allocated but 9 freed"));
}

}  // namespace
}  // namespace zonealloc::bench
