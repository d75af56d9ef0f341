// SPDX-License-Identifier: Apache-2.0
// Violations collects every broken invariant the stress tool finds, from any
// thread: it prints what and where at once (the first kMaxPrinted of them)
// and counts all, so the run ends with a non-zero exit status however many
// there were.

#ifndef ZONEALLOC_STRESS_VIOLATIONS_H_
#define ZONEALLOC_STRESS_VIOLATIONS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace zonealloc::stress {

class Violations {
 public:
  static constexpr uint64_t kMaxPrinted = 50;

  // `where`: the place in the tool (e.g. "worker 12 free"); `what`: the
  // broken invariant with its values.
  void Report(std::string_view where, std::string_view what);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> count_{0};
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_VIOLATIONS_H_
