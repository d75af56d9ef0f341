// SPDX-License-Identifier: Apache-2.0
#include "bench/rss.h"

#include <optional>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::Each;
using ::testing::Field;
using ::testing::Gt;
using ::testing::Optional;

TEST(RssTest, ReadsThisProcess) {
  const std::optional<uint64_t> current = ReadCurrentRssBytes();
  const std::optional<uint64_t> peak = ReadPeakRssBytes();
  ASSERT_THAT(current, Optional(Gt(0u)));
  EXPECT_THAT(peak, Optional(Gt(0u)));
  EXPECT_GE(peak.value_or(0), *current);  // the peak is read second and never falls
}

TEST(RssTest, ParsesStatm) {
  EXPECT_EQ(internal::ResidentBytesFromStatm("1000 250 30 1 0 80 0\n", 4096), 250u * 4096);
}

TEST(RssTest, AStatmWithoutResidentPagesHasNoFigure) {
  EXPECT_EQ(internal::ResidentBytesFromStatm("", 4096), std::nullopt);
  EXPECT_EQ(internal::ResidentBytesFromStatm("1000\n", 4096), std::nullopt);
  EXPECT_EQ(internal::ResidentBytesFromStatm("1000 x\n", 4096), std::nullopt);
}

TEST(RssTest, FindsVmHwmInStatus) {
  const char* status =
      "Name:\tzonealloc_bench_worker\n"
      "VmPeak:\t  200000 kB\n"
      "VmHWM:\t    2048 kB\n"
      "VmRSS:\t    1024 kB\n";
  EXPECT_EQ(internal::PeakBytesFromStatus(status), 2048u * 1024);
}

TEST(RssTest, AStatusWithoutVmHwmHasNoFigure) {
  EXPECT_EQ(internal::PeakBytesFromStatus(""), std::nullopt);
  EXPECT_EQ(internal::PeakBytesFromStatus("Name:\tx\nVmRSS:\t 1024 kB\n"), std::nullopt);
  EXPECT_EQ(internal::PeakBytesFromStatus("VmHWM:\t -\n"), std::nullopt);
}

TEST(RssSamplerTest, RecordsRealFiguresOnly) {
  RssSampler sampler(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(5));
  const std::vector<RssSample> samples = sampler.Stop();
  EXPECT_GE(samples.size(), 2u);  // one at the start, one at Stop()
  EXPECT_THAT(samples, Each(Field(&RssSample::bytes, Gt(0u))));
}

}  // namespace
}  // namespace zonealloc::bench
