// SPDX-License-Identifier: Apache-2.0
#include "resp_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl_view.h"

namespace kvserver {
namespace {

// A "*<n>" or "$<n>" header line is this long at most: sign, 19 digits, CRLF.
constexpr size_t kMaxHeaderLine = 32;

ParseResult Error(std::string text) {
  return {.status = ParseStatus::kError, .error = std::move(text)};
}

// Reads the header line that starts at input[pos] (its type byte already
// checked). On success sets *value and *next (past the CRLF).
ParseStatus ReadHeader(std::string_view input, size_t pos, int64_t* value, size_t* next) {
  const size_t eol = input.find("\r\n", pos + 1);
  if (eol == std::string_view::npos) {
    // No CRLF yet: incomplete, unless the line is already too long to be a length.
    return input.size() - pos > kMaxHeaderLine ? ParseStatus::kError : ParseStatus::kIncomplete;
  }
  const std::optional<int64_t> parsed = ParseInt64(input.substr(pos + 1, eol - pos - 1));
  if (!parsed.has_value()) return ParseStatus::kError;
  *value = *parsed;
  *next = eol + 2;
  return ParseStatus::kComplete;
}

ParseResult ParseInline(std::string_view input, const ParseLimits& limits,
                        std::vector<std::string_view>* args) {
  const size_t eol = input.find('\n');
  if (eol == std::string_view::npos) {
    if (input.size() > limits.max_inline_bytes) return Error("Protocol error: too big inline request");
    return {};
  }
  std::string_view line = input.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (absl::string_view word : absl::StrSplit(ToAbsl(line), absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    if (args->size() == limits.max_args) return Error("Protocol error: too many inline arguments");
    args->push_back(FromAbsl(word));
  }
  return {.status = ParseStatus::kComplete, .consumed = eol + 1};
}

}  // namespace

std::optional<int64_t> ParseInt64(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t magnitude = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot wrap
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

ParseResult ParseCommand(std::string_view input, const ParseLimits& limits,
                         std::vector<std::string_view>* args) {
  args->clear();
  if (input.empty()) return {};
  if (input.front() != '*') return ParseInline(input, limits, args);

  int64_t count = 0;
  size_t pos = 0;
  switch (ReadHeader(input, 0, &count, &pos)) {
    case ParseStatus::kIncomplete:
      return {};
    case ParseStatus::kError:
      return Error("Protocol error: invalid multibulk length");
    case ParseStatus::kComplete:
      break;
  }
  if (count > static_cast<int64_t>(limits.max_args)) {
    return Error(absl::StrCat("Protocol error: invalid multibulk length ", count, " (limit ",
                              limits.max_args, ")"));
  }
  // "*0" and "*-1" are empty commands, skipped as Redis does.
  for (int64_t i = 0; i < count; ++i) {
    if (pos >= input.size()) return {};
    if (input[pos] != '$') {
      return Error(absl::StrCat("Protocol error: expected '$', got '",
                                absl::CEscape(ToAbsl(input.substr(pos, 1))), "'"));
    }
    int64_t length = 0;
    size_t body = 0;
    switch (ReadHeader(input, pos, &length, &body)) {
      case ParseStatus::kIncomplete:
        return {};
      case ParseStatus::kError:
        return Error("Protocol error: invalid bulk length");
      case ParseStatus::kComplete:
        break;
    }
    if (length < 0 || static_cast<uint64_t>(length) > limits.max_bulk_bytes) {
      return Error(absl::StrCat("Protocol error: invalid bulk length ", length, " (limit ",
                                limits.max_bulk_bytes, ")"));
    }
    const size_t n = static_cast<size_t>(length);
    if (body + n > limits.max_request_bytes) {
      return Error(absl::StrCat("Protocol error: request longer than ", limits.max_request_bytes,
                                " bytes"));
    }
    if (input.size() - body < n + 2) return {};
    if (input.substr(body + n, 2) != "\r\n") return Error("Protocol error: bulk not ended by CRLF");
    args->push_back(input.substr(body, n));
    pos = body + n + 2;
  }
  return {.status = ParseStatus::kComplete, .consumed = pos};
}

}  // namespace kvserver
