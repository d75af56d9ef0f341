// SPDX-License-Identifier: Apache-2.0
// The one policy for zonealloc's environment variables (ZONEALLOC_BUDGET,
// ZONEALLOC_CPU_CACHE, ZONEALLOC_ROLE, ZONEALLOC_DEBUG, ZONEALLOC_STATS):
//
//   - the value is trimmed of surrounding whitespace and matched ignoring
//     case (the parser sees it in lowercase; a variable whose value may be
//     a file path, ZONEALLOC_STATS, sets keep_case and sees it as written);
//   - unset and empty (or all whitespace) mean the same: the default;
//   - a value that does not parse is ignored, so the default is used, and
//     one line on stderr says so, once per variable per process:
//       zonealloc: ignoring ZONEALLOC_CPU_CACHE="Fast": not a CPU cache mode
//       (use rseq, fallback or off); using the default
//     (one line; wrapped here).
//
// Why ignore instead of fail: these variables tune a process that is
// already running correctly without them. A typo in one should not abort
// it, fail every zone it creates, or throw away unrelated detected facts;
// the warning makes it visible instead.
//
// Who should use this: the code that reads one of the variables above.
// Errors in options passed to an API stay absl::Status.

#ifndef ZONEALLOC_CORE_INTERNAL_ENV_H_
#define ZONEALLOC_CORE_INTERNAL_ENV_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"

namespace zonealloc::internal {

// Looks up an environment variable; std::nullopt when unset. Injectable so
// tests need not touch the process environment. Null means ::getenv.
using Getenv = std::function<std::optional<std::string>(std::string_view name)>;

// One variable zonealloc reads, described for the warning line.
struct EnvVariable {
  std::string_view name;      // "ZONEALLOC_CPU_CACHE"
  std::string_view expected;  // "a CPU cache mode (use rseq, fallback or off)"
  std::string_view instead;   // what a bad value gives way to: "the default"
  // The parser sees the trimmed value with its case kept, not lowercased:
  // for values that may be file paths.
  bool keep_case = false;
};

// The value of `name` through `getenv` (::getenv when null), as set:
// untrimmed, std::nullopt when unset.
std::optional<std::string> GetEnv(std::string_view name, const Getenv& getenv);

// The value as parsers see it: trimmed and in lowercase.
std::string NormalizeEnvValue(std::string_view value);

// The value as parsers of keep_case variables see it: trimmed.
std::string TrimEnvValue(std::string_view value);

// Writes "zonealloc: ignoring NAME="value": not <expected>; using <instead>"
// to stderr, unless it was written for this variable already. The value is
// C-escaped so the warning stays one line. Thread-safe.
void WarnIgnoredEnvOnce(const EnvVariable& variable, std::string_view value);

// Forgets which variables were warned about, so each test sees its warning.
void ResetEnvWarningsForTesting();

// Reads `variable` under the policy above: the parsed value, or std::nullopt
// when the caller should use its default (unset, empty, or bad: warned).
// `parse` takes the normalized (with keep_case, the trimmed) value and
// returns absl::StatusOr<T>; its error message is not shown,
// `variable.expected` says what was wanted.
//
//   std::optional<CpuCacheMode> mode = ReadEnv(kCpuCacheVariable, ParseCpuCacheMode);
template <typename Parse,
          typename T = typename std::invoke_result_t<Parse&, std::string_view>::value_type>
std::optional<T> ReadEnv(const EnvVariable& variable, Parse&& parse,
                         const Getenv& getenv = nullptr) {
  const std::optional<std::string> raw = GetEnv(variable.name, getenv);
  if (!raw) return std::nullopt;
  const std::string value = variable.keep_case ? TrimEnvValue(*raw) : NormalizeEnvValue(*raw);
  if (value.empty()) return std::nullopt;
  absl::StatusOr<T> parsed = parse(std::string_view(value));
  if (parsed.ok()) return *std::move(parsed);
  WarnIgnoredEnvOnce(variable, *raw);
  return std::nullopt;
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_ENV_H_
