// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/possible_cpus.h>

#include <sys/sysinfo.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace zonealloc {
namespace {

constexpr absl::string_view kPossibleFile = "sys/devices/system/cpu/possible";

// One CPU id: digits only (SimpleAtoi alone would take "+1" and " 1"),
// below kMaxCpuIdLimit.
bool ParseCpuId(absl::string_view text, int* id) {
  return !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(text, id) && *id < kMaxCpuIdLimit;
}

// The whole file, or std::nullopt when it cannot be read.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return std::move(contents).str();
}

}  // namespace

absl::StatusOr<int> ParseCpuIdLimit(std::string_view std_text) {
  const absl::string_view text(std_text.data(), std_text.size());
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", absl::CHexEscape(text), "\" is not a CPU list like \"0-3,8-11\": ", why));
  };
  const absl::string_view list = absl::StripAsciiWhitespace(text);
  if (list.empty()) return bad("it is empty");
  int limit = 0;
  for (absl::string_view range : absl::StrSplit(list, ',')) {
    const std::vector<absl::string_view> ends = absl::StrSplit(range, absl::MaxSplits('-', 1));
    int first = 0;
    int last = 0;
    if (!ParseCpuId(ends.front(), &first) || !ParseCpuId(ends.back(), &last)) {
      return bad(absl::StrCat("\"", absl::CHexEscape(range),
                              "\" is not an id or range of ids below ", kMaxCpuIdLimit));
    }
    if (last < first) return bad(absl::StrCat("the range \"", range, "\" runs backwards"));
    limit = std::max(limit, last + 1);
  }
  return limit;
}

int PossibleCpuIdLimit(std::string_view std_root) {
  absl::string_view root(std_root.data(), std_root.size());
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  if (std::optional<std::string> possible = ReadSmallFile(absl::StrCat(root, "/", kPossibleFile))) {
    if (absl::StatusOr<int> limit = ParseCpuIdLimit(*possible); limit.ok()) return *limit;
  }
  return std::max(1, get_nprocs_conf());
}

}  // namespace zonealloc
