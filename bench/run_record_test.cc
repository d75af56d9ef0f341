// SPDX-License-Identifier: Apache-2.0
#include "bench/run_record.h"

#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

RunRecord Sample() {
  return {.scenario = "larson",
          .allocator = "malloc",
          .threads = 4,
          .threads_used = 4,
          .block_size = 64,
          .ops = 123456,
          .allocations = 130000,
          .seconds = 0.25,
          .mops = 0.4938,
          .p50_ns = 40,
          .p99_ns = 120,
          .p999_ns = 900,
          .latency_samples = 5000,
          .peak_rss_bytes = 9 << 20,
          .final_rss_bytes = 7 << 20,
          .malloc_library = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
          .ok = false,
          .detail = "3 blocks changed while live (handed out twice?)"};
}

TEST(RunRecordTest, ParsesWhatItFormats) {
  absl::StatusOr<RunRecord> parsed = ParseResultLine(FormatResultLine(Sample()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->scenario, "larson");
  EXPECT_EQ(parsed->threads_used, 4);
  EXPECT_EQ(parsed->ops, 123456);
  EXPECT_EQ(parsed->allocations, 130000);
  EXPECT_DOUBLE_EQ(parsed->p999_ns, 900);
  EXPECT_EQ(parsed->final_rss_bytes, uint64_t{7} << 20);
  EXPECT_EQ(parsed->malloc_library, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  EXPECT_FALSE(parsed->ok);
  EXPECT_EQ(parsed->detail, "3 blocks changed while live (handed out twice?)");
  EXPECT_FALSE(parsed->zone_events.has_value());  // malloc is not a Zone
}

TEST(RunRecordTest, ParsesAZonesEvents) {
  RunRecord record = Sample();
  record.allocator = "zone";
  record.zone_events = ZoneEvents{
      .slow_path_entries = 17, .cache_drains = 5, .overflow_allocations = 4096, .extensions = 2};
  const std::string line = FormatResultLine(record);
  EXPECT_NE(line.find("slow_path_entries=17 cache_drains=5 overflow_allocations=4096 extensions=2"),
            std::string::npos);
  absl::StatusOr<RunRecord> parsed = ParseResultLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->zone_events.has_value());
  EXPECT_EQ(parsed->zone_events->slow_path_entries, 17);
  EXPECT_EQ(parsed->zone_events->cache_drains, 5);
  EXPECT_EQ(parsed->zone_events->overflow_allocations, 4096);
  EXPECT_EQ(parsed->zone_events->extensions, 2);
}

TEST(RunRecordTest, APeersZoneEventsAreDashes) {
  EXPECT_NE(FormatResultLine(Sample()).find(
                "slow_path_entries=- cache_drains=- overflow_allocations=- extensions=-"),
            std::string::npos);
}

TEST(RunRecordTest, AMalformedZoneCountIsNamed) {
  RunRecord record = Sample();
  record.zone_events = ZoneEvents{};
  std::string line = FormatResultLine(record);
  line.replace(line.find("cache_drains=0"), 14, "cache_drains=x");
  absl::StatusOr<RunRecord> parsed = ParseResultLine(line);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("cache_drains"), std::string::npos);
}

TEST(RunRecordTest, FindsTheResultLineInAWorkersOutput) {
  const std::string output = "some noise\n" + FormatResultLine(Sample()) + "\n";
  absl::StatusOr<RunRecord> parsed = ParseWorkerOutput(output);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->allocator, "malloc");
}

TEST(RunRecordTest, NoResultLineIsNotFound) {
  EXPECT_EQ(ParseWorkerOutput("Segmentation fault\n").status().code(), absl::StatusCode::kNotFound);
}

TEST(RunRecordTest, AMissingFieldIsNamed) {
  absl::StatusOr<RunRecord> parsed = ParseResultLine("result scenario=pair detail=");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("allocator"), std::string::npos);
}

}  // namespace
}  // namespace zonealloc::bench
