// SPDX-License-Identifier: Apache-2.0
#include "bench/matrix.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scenarios.h"

namespace zonealloc::bench {
namespace {

struct Axes {
  std::vector<std::string> scenarios;
  std::vector<int> threads;
  std::vector<size_t> block_sizes;
};

Axes AxesFor(MatrixKind kind, int cpus) {
  switch (kind) {
    case MatrixKind::kDefault:
      return {{"pair", "batch", "prodcons", "larson", "burst", "fill"}, {1, 2 * cpus}, {64}};
    case MatrixKind::kFull:
      return {{"pair", "batch", "prodcons", "larson", "burst", "fill", "server"},
              {1, cpus, 2 * cpus, 4 * cpus},
              {16, 64, 256, 1024}};
    case MatrixKind::kSmoke:
      return {{"pair", "batch", "prodcons", "larson", "burst", "fill", "server"}, {1, 2}, {64}};
  }
  return {};
}

// The thread counts and sizes `scenario` runs at. `fill` asks one question
// (what a million 64-byte blocks on one thread cost in memory): more
// threads or bigger blocks multiply the memory (1 GiB at 1024 B) and the
// time and answer nothing more, so it runs at 1 thread and 64 B unless
// --threads or --block_sizes ask for others.
Axes ScenarioAxes(const std::string& scenario, const Axes& axes, const MatrixOverrides& overrides) {
  Axes own = axes;
  if (scenario == "fill") {
    if (overrides.threads.empty()) own.threads = {1};
    if (overrides.block_sizes.empty()) own.block_sizes = {64};
  }
  return own;
}

}  // namespace

std::string BlockSizeText(size_t block_size, std::string_view unit) {
  return block_size == 0 ? "mix" : absl::StrFormat("%d%s", block_size, unit);
}

std::vector<Cell> BuildMatrix(MatrixKind kind, int cpus, const MatrixOverrides& overrides) {
  Axes axes = AxesFor(kind, std::max(1, cpus));
  if (!overrides.scenarios.empty()) axes.scenarios = overrides.scenarios;
  if (!overrides.threads.empty()) axes.threads = overrides.threads;
  if (!overrides.block_sizes.empty()) axes.block_sizes = overrides.block_sizes;
  std::sort(axes.threads.begin(), axes.threads.end());

  std::vector<Cell> cells;
  std::set<std::tuple<std::string, int, size_t>> seen;  // scenario, threads used, size
  for (const std::string& name : axes.scenarios) {
    const Scenario* scenario = FindScenario(name);
    const Axes own = ScenarioAxes(name, axes, overrides);
    for (const size_t block_size : own.block_sizes) {
      for (const int threads : own.threads) {
        Cell cell{.scenario = name, .threads = threads, .block_size = block_size};
        if (scenario != nullptr) {
          cell.threads_used = scenario->threads_used({.threads = threads});
          if (!scenario->uses_block_size) cell.block_size = 0;
        }
        if (seen.insert({name, cell.threads_used, cell.block_size}).second) cells.push_back(cell);
      }
    }
  }
  return cells;
}

std::vector<size_t> TurnOrder(size_t contenders, int repetition) {
  // Williams' sequence 0, 1, n-1, 2, n-2, ...: its steps +1, -2, +3, -4, ...
  // differ mod n when n is even, so its shifts never repeat an ordered pair.
  std::vector<size_t> order(contenders);
  const size_t shift = static_cast<size_t>(repetition - 1);
  for (size_t k = 0; k < contenders; ++k) {
    const size_t base = k % 2 == 1 ? (k + 1) / 2 : (contenders - k / 2) % contenders;
    order[k] = (base + shift) % contenders;
  }
  return order;
}

bool ContenderRunsIn(const Contender& contender, const Cell& cell) {
  return !contender.single_thread || cell.threads_used == 1;
}

std::vector<std::string> WorkerArgs(const Cell& cell, MatrixKind kind, int64_t duration_ms,
                                    bool pin_threads) {
  std::vector<std::string> args = {
      absl::StrCat("--scenario=", cell.scenario), absl::StrCat("--threads=", cell.threads),
      absl::StrCat("--block_size=", cell.block_size == 0 ? 64 : cell.block_size)};
  if (kind == MatrixKind::kSmoke) {
    // Tiny: a few milliseconds per run; the self-checks are what count.
    // fill_blocks is more than any default zone holds (4 MiB at most: 65536
    // blocks of 64 B), so the zone overflows and extends in smoke runs too.
    for (const char* flag :
         {"--ops=20000", "--batch_blocks=256", "--larson_slots=128", "--burst_blocks=1024",
          "--burst_idle_ms=2", "--fill_blocks=131072", "--server_requests=32"}) {
      args.emplace_back(flag);
    }
  } else if (cell.scenario == "fill") {
    // Whole rounds of a million blocks, the same number for every contender:
    // one that ran by the clock would stop after its first, cold round when
    // slow and after many warm ones when fast.
    args.push_back(absl::StrCat("--fill_blocks=", kFillBlocks));
    args.push_back(absl::StrCat("--ops=", kFillRounds * kFillBlocks * cell.threads));
  } else {
    args.push_back(absl::StrCat("--duration_ms=", duration_ms));
  }
  if (!pin_threads) args.emplace_back("--pin_threads=false");
  return args;
}

}  // namespace zonealloc::bench
