// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/env.h>

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc::internal {
namespace {

// Debian's Abseil keeps its own absl::string_view, distinct from the
// std::string_view of the interface; this converts at that boundary.
absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// The variables already warned about in this process. Never destroyed, so
// a warning from another static's destructor still finds it. A std::mutex
// rather than absl::Mutex: ThreadSanitizer sees pthread locks even where
// the Abseil library was built without it, as Debian's is.
struct WarnedVariables {
  std::mutex mu;
  absl::flat_hash_set<std::string> names;  // guarded by mu
};

WarnedVariables& Warned() {
  static WarnedVariables* const warned = new WarnedVariables;
  return *warned;
}

}  // namespace

std::optional<std::string> GetEnv(std::string_view name, const Getenv& getenv) {
  if (getenv) return getenv(name);
  if (const char* value = std::getenv(std::string(name).c_str())) return std::string(value);
  return std::nullopt;
}

std::string NormalizeEnvValue(std::string_view value) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(ToAbsl(value)));
}

std::string TrimEnvValue(std::string_view value) {
  return std::string(absl::StripAsciiWhitespace(ToAbsl(value)));
}

void WarnIgnoredEnvOnce(const EnvVariable& variable, std::string_view value) {
  WarnedVariables& warned = Warned();
  {
    std::lock_guard<std::mutex> lock(warned.mu);
    if (!warned.names.insert(std::string(variable.name)).second) return;
  }
  // One write of the whole line, so lines of other threads do not interleave.
  const std::string line =
      absl::StrCat("zonealloc: ignoring ", ToAbsl(variable.name), "=\"",
                   absl::CHexEscape(ToAbsl(value)), "\": not ", ToAbsl(variable.expected),
                   "; using ", ToAbsl(variable.instead), "\n");
  (void)WriteAllWithoutSigpipe(STDERR_FILENO, line);  // whole, however long
}

void ResetEnvWarningsForTesting() {
  WarnedVariables& warned = Warned();
  std::lock_guard<std::mutex> lock(warned.mu);
  warned.names.clear();
}

}  // namespace zonealloc::internal
