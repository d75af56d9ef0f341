// SPDX-License-Identifier: Apache-2.0
#include "bench/latency_sampler.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

TEST(LatencySamplerTest, KeepsEverySampleUntilFull) {
  LatencySampler sampler(/*capacity=*/8);
  for (uint64_t i = 0; i < 8; ++i) sampler.Record(i);
  EXPECT_EQ(std::vector<uint64_t>(sampler.samples().begin(), sampler.samples().end()),
            (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(LatencySamplerTest, ThinsToSamplesSpreadOverTheWholeRun) {
  LatencySampler sampler(/*capacity=*/8);
  for (uint64_t i = 0; i < 64; ++i) sampler.Record(i);
  // Every 8th of 64: the start and the end of the run are both present.
  EXPECT_EQ(std::vector<uint64_t>(sampler.samples().begin(), sampler.samples().end()),
            (std::vector<uint64_t>{0, 8, 16, 24, 32, 40, 48, 56}));
}

// Two threads, one ten times busier: after merging, each brings samples in
// proportion to its ops, though both samplers kept a similar number.
TEST(MergeSamplesTest, EachThreadWeighsByItsOpCount) {
  LatencySampler busy(/*capacity=*/64), idle(/*capacity=*/64);
  for (int i = 0; i < 100'000; ++i) busy.Record(1);
  for (int i = 0; i < 10'000; ++i) idle.Record(2);
  ASSERT_GT(busy.stride(), idle.stride());

  const LatencySampler* samplers[] = {&busy, &idle};
  std::vector<uint64_t> merged;
  MergeSamples(samplers, merged);
  const auto from_busy = std::count(merged.begin(), merged.end(), 1);
  const auto from_idle = std::count(merged.begin(), merged.end(), 2);
  EXPECT_EQ(from_busy, static_cast<int64_t>(busy.samples().size()));
  // 10 000 / 100 000 of the busy thread's share, within rounding.
  EXPECT_NEAR(static_cast<double>(from_idle), from_busy / 10.0, 1.0);
}

TEST(MergeSamplesTest, SamplersOfOneStrideKeepEverySample) {
  LatencySampler a(/*capacity=*/8), b(/*capacity=*/8);
  for (uint64_t i = 0; i < 5; ++i) a.Record(i);
  for (uint64_t i = 10; i < 13; ++i) b.Record(i);
  const LatencySampler* samplers[] = {&a, &b};
  std::vector<uint64_t> merged;
  MergeSamples(samplers, merged);
  EXPECT_EQ(merged, (std::vector<uint64_t>{0, 1, 2, 3, 4, 10, 11, 12}));
}

TEST(SummarizeLatencyTest, NearestRankPercentilesInNanoseconds) {
  std::vector<uint64_t> ticks;
  for (uint64_t i = 1000; i >= 1; --i) ticks.push_back(i);  // unsorted on purpose
  const LatencySummary summary = SummarizeLatency(ticks, /*nanos_per_tick=*/0.5);
  EXPECT_EQ(summary.samples, 1000u);
  EXPECT_DOUBLE_EQ(summary.p50_ns, 250);     // tick 500
  EXPECT_DOUBLE_EQ(summary.p99_ns, 495);     // tick 990
  EXPECT_DOUBLE_EQ(summary.p999_ns, 499.5);  // tick 999
}

TEST(SummarizeLatencyTest, NoSamplesGiveZeros) {
  const LatencySummary summary = SummarizeLatency({}, 1.0);
  EXPECT_EQ(summary.samples, 0u);
  EXPECT_EQ(summary.p99_ns, 0);
}

}  // namespace
}  // namespace zonealloc::bench
