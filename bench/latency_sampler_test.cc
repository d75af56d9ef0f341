// SPDX-License-Identifier: Apache-2.0
#include "bench/latency_sampler.h"

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
