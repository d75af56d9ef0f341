// SPDX-License-Identifier: Apache-2.0
// The matrix of a scenario-benchmark run: which scenarios, thread counts and
// block sizes the driver runs every contender in, and the worker flags for
// one cell.
//
//   default  pair, batch, prodcons, larson, burst, fill; 64-byte blocks;
//            1 and 2 x CPUs threads (fits in 3 minutes on 2 cores)
//   full     all seven scenarios; 16, 64, 256, 1024 bytes;
//            1, CPUs, 2 x CPUs, 4 x CPUs threads
//   smoke    all seven scenarios once, tiny (--ops, small arrays); 1 and 2
//            threads; for CI, where only the self-checks matter
//
// `fill` has one cell in every matrix, 1 thread and 64 B (unless --threads
// or --block_sizes say otherwise): it asks what one thread's million 64-byte
// blocks cost in memory.
// Cells that would run the same threads twice (prodcons runs pairs, so 1
// and 2 threads both run 2) are kept once; server picks its own sizes, so it
// has one cell per thread count.

#ifndef ZONEALLOC_BENCH_MATRIX_H_
#define ZONEALLOC_BENCH_MATRIX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/contenders.h"

namespace zonealloc::bench {

struct Cell {
  std::string scenario;
  int threads = 1;        // as asked (--threads)
  int threads_used = 1;   // as the scenario runs them
  size_t block_size = 0;  // 0: the scenario picks its sizes (server)
};

// A cell's block size as the report, the progress lines and the plots show
// it: "mix" where the scenario picks its sizes (0), else the number followed
// by `unit`: BlockSizeText(64) is "64", BlockSizeText(64, "B") is "64B".
std::string BlockSizeText(size_t block_size, std::string_view unit = "");

enum class MatrixKind { kDefault, kFull, kSmoke };

// Replaces a part of the chosen matrix when not empty.
struct MatrixOverrides {
  std::vector<std::string> scenarios;
  std::vector<int> threads;
  std::vector<size_t> block_sizes;
};

std::vector<Cell> BuildMatrix(MatrixKind kind, int cpus, const MatrixOverrides& overrides = {});

// False when `contender` cannot serve `cell`: single-thread allocators run
// only where the scenario runs one thread.
bool ContenderRunsIn(const Contender& contender, const Cell& cell);

// The order in which a cell's `contenders` take their turns in
// `repetition` (from 1): a row of a Williams design (a balanced Latin
// square), so each repetition starts with a different contender and, for an
// even number of contenders and up to that many repetitions, no contender
// runs right after the same one twice (a fixed order moved `fill`'s
// zone/mimalloc ratio by 10% in interleaved runs). An odd number may repeat
// a predecessor.
std::vector<size_t> TurnOrder(size_t contenders, int repetition);

// A `fill` run of the default and full matrices: kFillRounds rounds of
// kFillBlocks blocks per thread, whatever the speed.
inline constexpr int64_t kFillBlocks = 1 << 20;
inline constexpr int64_t kFillRounds = 4;

// The worker flags for one run of `cell` (not --allocator or the outputs).
// pin_threads false: the worker lets the kernel place its threads.
std::vector<std::string> WorkerArgs(const Cell& cell, MatrixKind kind, int64_t duration_ms,
                                    bool pin_threads = true);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_MATRIX_H_
