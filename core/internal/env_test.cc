// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/env.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/system_profile.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_sizing.h>

namespace zonealloc::internal {
namespace {

using ::testing::IsEmpty;

// A made-up variable, so these tests say nothing about the real ones.
constexpr EnvVariable kColor = {
    .name = "ZONEALLOC_TEST_COLOR",
    .expected = "a color (use red or blue)",
    .instead = "red",
};

enum class Color { kRed, kBlue };

// Takes only lowercase: ReadEnv hands parsers the normalized value.
absl::StatusOr<Color> ParseColor(std::string_view text) {
  if (text == "red") return Color::kRed;
  if (text == "blue") return Color::kBlue;
  return absl::InvalidArgumentError("not a color");
}

// An environment holding only `vars`.
Getenv FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// What stderr receives while `read` runs, with the once-per-variable
// memory cleared first so each test sees its own warning.
class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ResetEnvWarningsForTesting(); }

  template <typename Read>
  std::string StderrOf(Read read) {
    ::testing::internal::CaptureStderr();
    read();
    return ::testing::internal::GetCapturedStderr();
  }
};

TEST_F(EnvTest, UnsetMeansTheDefaultQuietly) {
  std::optional<Color> color;
  EXPECT_THAT(StderrOf([&] { color = ReadEnv(kColor, ParseColor, FakeEnv({})); }), IsEmpty());
  EXPECT_EQ(color, std::nullopt);
}

TEST_F(EnvTest, EmptyOrBlankCountsAsUnset) {
  for (const char* blank : {"", " ", "\t\n"}) {
    std::optional<Color> color;
    EXPECT_THAT(StderrOf([&] {
                  color = ReadEnv(kColor, ParseColor, FakeEnv({{"ZONEALLOC_TEST_COLOR", blank}}));
                }),
                IsEmpty());
    EXPECT_EQ(color, std::nullopt) << '"' << blank << '"';
  }
}

TEST_F(EnvTest, ValuesAreTrimmedAndMatchedIgnoringCase) {
  for (const char* blue : {"blue", "BLUE", "Blue", "  blue\n"}) {
    EXPECT_EQ(ReadEnv(kColor, ParseColor, FakeEnv({{"ZONEALLOC_TEST_COLOR", blue}})), Color::kBlue)
        << '"' << blue << '"';
  }
}

TEST_F(EnvTest, ABadValueIsIgnoredWithOneWarningLine) {
  std::optional<Color> color;
  const std::string warning = StderrOf(
      [&] { color = ReadEnv(kColor, ParseColor, FakeEnv({{"ZONEALLOC_TEST_COLOR", "Green"}})); });
  EXPECT_EQ(color, std::nullopt) << "the caller uses its default";
  EXPECT_EQ(warning,
            "zonealloc: ignoring ZONEALLOC_TEST_COLOR=\"Green\": not a color (use red or blue); "
            "using red\n");
}

TEST_F(EnvTest, TheWarningShowsTheValueAsSetOnOneLine) {
  const std::string warning = StderrOf(
      [&] { ReadEnv(kColor, ParseColor, FakeEnv({{"ZONEALLOC_TEST_COLOR", " gr\"een\n"}})); });
  EXPECT_EQ(warning,
            "zonealloc: ignoring ZONEALLOC_TEST_COLOR=\" gr\\\"een\\n\": not a color (use red or "
            "blue); using red\n");
}

TEST_F(EnvTest, EachVariableWarnsOncePerProcess) {
  const EnvVariable shade = {
      .name = "ZONEALLOC_TEST_SHADE", .expected = "a color", .instead = "red"};
  const Getenv env = FakeEnv({{"ZONEALLOC_TEST_COLOR", "green"}, {"ZONEALLOC_TEST_SHADE", "teal"}});
  const std::string warnings = StderrOf([&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(ReadEnv(kColor, ParseColor, env), std::nullopt);
      EXPECT_EQ(ReadEnv(shade, ParseColor, env), std::nullopt);
    }
  });
  EXPECT_EQ(warnings,
            "zonealloc: ignoring ZONEALLOC_TEST_COLOR=\"green\": not a color (use red or blue); "
            "using red\n"
            "zonealloc: ignoring ZONEALLOC_TEST_SHADE=\"teal\": not a color; using red\n");
}

TEST_F(EnvTest, ThreadsReadingABadValueWarnOnce) {
  const Getenv env = FakeEnv({{"ZONEALLOC_TEST_COLOR", "green"}});
  const std::string warnings = StderrOf([&] {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) threads.emplace_back([&] { ReadEnv(kColor, ParseColor, env); });
    for (std::thread& thread : threads) thread.join();
  });
  EXPECT_EQ(warnings,
            "zonealloc: ignoring ZONEALLOC_TEST_COLOR=\"green\": not a color (use red or blue); "
            "using red\n");
}

TEST_F(EnvTest, WithoutAGetenvHookReadsTheProcessEnvironment) {
  ::setenv("ZONEALLOC_TEST_COLOR", "Blue", /*overwrite=*/1);
  EXPECT_EQ(ReadEnv(kColor, ParseColor), Color::kBlue);
  ::unsetenv("ZONEALLOC_TEST_COLOR");
  EXPECT_EQ(ReadEnv(kColor, ParseColor), std::nullopt);
}

// ZONEALLOC_BUDGET under the policy. ZoneService::Default() reads it once
// per process, so each case runs in a child process of its own; the child
// exits 0 when the budget is the one expected.
class ZoneallocBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

  // In the child: sets ZONEALLOC_BUDGET to `value`, exits 0 when the
  // default service's budget is `expected` (0: the detected default).
  [[noreturn]] static void ExitWhetherBudgetIs(const char* value, uint64_t expected) {
    ::setenv("ZONEALLOC_BUDGET", value, /*overwrite=*/1);
    if (expected == 0) expected = DefaultPermanentBudgetBytes(SystemProfile::Current());
    std::exit(ZoneService::Default().budget_bytes() == expected ? 0 : 1);
  }
};

TEST_F(ZoneallocBudgetTest, AValidBudgetIsUsedTrimmedInAnyCase) {
  EXPECT_EXIT(ExitWhetherBudgetIs(" 256m\n", uint64_t{256} << 20), ::testing::ExitedWithCode(0),
              "");
}

TEST_F(ZoneallocBudgetTest, AMalformedBudgetIsIgnoredWithAWarningNotAnAbort) {
  EXPECT_EXIT(ExitWhetherBudgetIs("lots", 0), ::testing::ExitedWithCode(0),
              "zonealloc: ignoring ZONEALLOC_BUDGET=\"lots\": not a byte count above 0 "
              ".*; using the default of [0-9]+ bytes");
}

TEST_F(ZoneallocBudgetTest, AZeroBudgetIsIgnoredWithAWarningNotAnAbort) {
  EXPECT_EXIT(ExitWhetherBudgetIs("0", 0), ::testing::ExitedWithCode(0),
              "zonealloc: ignoring ZONEALLOC_BUDGET=\"0\": not a byte count above 0");
}

}  // namespace
}  // namespace zonealloc::internal
