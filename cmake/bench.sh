#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: installs what is missing, builds the Release benchmark and
# runs zonealloc's scenario benchmark against glibc, jemalloc, tcmalloc,
# mimalloc, tbbmalloc, tbb::memory_pool and the std::pmr pools. Prints the
# table (about 2 minutes on 2 cores); arguments go to the benchmark:
#   bash cmake/bench.sh --full        # every scenario, size and thread count
#   bash cmake/bench.sh --smoke       # every scenario once, tiny
#   bash cmake/bench.sh --help        # all flags
#   bash cmake/bench.sh --publish_dir=bench/results   # also refresh bench/README.md's plots
# Results: build/bench-results/latest/ (JSON, tables, PNG plots).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything but the table goes to stderr, so `bash cmake/bench.sh > table.txt` works.
bash cmake/install_deps.sh >&2
echo "=== release: configure and build the benchmark" >&2
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target zonealloc_bench zonealloc_bench_worker >&2
echo "=== benchmark" >&2
exec build/release/bench/zonealloc_bench "$@"
