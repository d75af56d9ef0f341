// SPDX-License-Identifier: Apache-2.0
#include "resp_parser.h"

#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kvserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ParseCommandTest, ReadsAMultibulkCommand) {
  std::vector<std::string_view> args;
  const std::string input = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva\r\nl\r\n";
  const ParseResult result = ParseCommand(input, {}, &args);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, input.size());
  EXPECT_THAT(args, ElementsAre("SET", "k", "va\r\nl"));  // bulks are binary-safe
}

TEST(ParseCommandTest, TakesOnlyTheFirstOfPipelinedCommands) {
  std::vector<std::string_view> args;
  const std::string input = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
  const ParseResult result = ParseCommand(input, {}, &args);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, input.size() / 2);
}

TEST(ParseCommandTest, EveryPrefixIsIncomplete) {
  const std::string input = "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n";
  std::vector<std::string_view> args;
  for (size_t n = 0; n < input.size(); ++n) {
    EXPECT_EQ(ParseCommand(std::string_view(input).substr(0, n), {}, &args).status,
              ParseStatus::kIncomplete)
        << n;
  }
  EXPECT_EQ(ParseCommand(input, {}, &args).status, ParseStatus::kComplete);
}

TEST(ParseCommandTest, ReadsInlineCommands) {
  std::vector<std::string_view> args;
  const ParseResult result = ParseCommand("set  k\tv\r\nrest", {}, &args);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, 10u);
  EXPECT_THAT(args, ElementsAre("set", "k", "v"));
}

TEST(ParseCommandTest, EmptyCommandsAreSkipped) {
  std::vector<std::string_view> args;
  EXPECT_EQ(ParseCommand("\r\n", {}, &args).consumed, 2u);
  EXPECT_THAT(args, IsEmpty());
  EXPECT_EQ(ParseCommand("*0\r\n", {}, &args).consumed, 4u);
  EXPECT_THAT(args, IsEmpty());
}

TEST(ParseCommandTest, RefusesAnOversizedBulkLengthBeforeItsBytesArrive) {
  std::vector<std::string_view> args;
  const ParseResult result = ParseCommand("*1\r\n$17\r\n", {.max_bulk_bytes = 16}, &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_THAT(result.error, HasSubstr("invalid bulk length 17"));
}

TEST(ParseCommandTest, RefusesAnOversizedArrayLength) {
  std::vector<std::string_view> args;
  const ParseResult result = ParseCommand("*99999999999\r\n", {.max_args = 1000}, &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_THAT(result.error, HasSubstr("invalid multibulk length 99999999999"));
}

TEST(ParseCommandTest, RefusesARequestPastTheRequestLimit) {
  std::vector<std::string_view> args;
  const ParseResult result =
      ParseCommand("*3\r\n$8\r\n", {.max_bulk_bytes = 8, .max_request_bytes = 10}, &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_THAT(result.error, HasSubstr("request longer than 10 bytes"));
}

TEST(ParseCommandTest, RefusesMalformedFraming) {
  std::vector<std::string_view> args;
  EXPECT_EQ(ParseCommand("*x\r\n", {}, &args).status, ParseStatus::kError);
  EXPECT_EQ(ParseCommand("*1\r\n:5\r\n", {}, &args).status, ParseStatus::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$-1\r\n", {}, &args).status, ParseStatus::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$2\r\nabcd\r\n", {}, &args).status, ParseStatus::kError);
  // A header line that cannot end in time is not waited for.
  EXPECT_EQ(ParseCommand("*" + std::string(40, '1'), {}, &args).status, ParseStatus::kError);
}

TEST(ParseCommandTest, RefusesAnEndlessInlineLine) {
  std::vector<std::string_view> args;
  EXPECT_EQ(ParseCommand(std::string(100, 'a'), {.max_inline_bytes = 99}, &args).status,
            ParseStatus::kError);
  EXPECT_EQ(ParseCommand(std::string(99, 'a'), {.max_inline_bytes = 99}, &args).status,
            ParseStatus::kIncomplete);
}

TEST(ParseInt64Test, AcceptsExactlyTheSigned64BitDecimals) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-12"), -12);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(ParseInt64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(ParseInt64(""), std::nullopt);
  EXPECT_EQ(ParseInt64("-"), std::nullopt);
  EXPECT_EQ(ParseInt64("+1"), std::nullopt);
  EXPECT_EQ(ParseInt64(" 1"), std::nullopt);
  EXPECT_EQ(ParseInt64("1a"), std::nullopt);
}

}  // namespace
}  // namespace kvserver
