// SPDX-License-Identifier: Apache-2.0
// StressDuration() reads ZONEALLOC_STRESS_MS strictly: a typo fails the test
// that asked, rather than running it for 0 ms.

#include <zonealloc/testing/stress_duration.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/testing/scoped_env.h>

namespace zonealloc::internal {
namespace {

TEST(StressDurationTest, ReadsWholeMillisecondsAndRejectsGarbage) {
  {
    ScopedEnv unset("ZONEALLOC_STRESS_MS", nullptr);
    EXPECT_EQ(*StressDuration(std::chrono::milliseconds(1500)), std::chrono::milliseconds(1500));
  }
  {
    ScopedEnv set("ZONEALLOC_STRESS_MS", "250");
    EXPECT_EQ(*StressDuration(std::chrono::milliseconds(1500)), std::chrono::milliseconds(250));
  }
  for (const char* garbage : {"", "2s", "1.5", "-1", "abc", "99999999999999999999"}) {
    ScopedEnv set("ZONEALLOC_STRESS_MS", garbage);
    const absl::StatusOr<std::chrono::milliseconds> duration =
        StressDuration(std::chrono::milliseconds(1500));
    EXPECT_TRUE(absl::IsInvalidArgument(duration.status())) << "'" << garbage << "'";
    EXPECT_THAT(duration.status().message(), testing::HasSubstr(absl::StrCat("'", garbage, "'")));
  }
}

}  // namespace
}  // namespace zonealloc::internal
