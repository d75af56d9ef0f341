#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Valgrind's memcheck against a build configured with ZONEALLOC_VALGRIND=ON
# (zones are mempools; see core/internal/memcheck_hooks.h). cmake/test.sh
# runs it after the presets; about 2 to 3 minutes on 2 cores.
#   1. Each misuse in core/memcheck_use_after_free.cc must be reported in
#      memcheck's words, with the zone's entry point in the report's stack.
#      A build without the hooks (BlockFreed, BlockHandedOut) reports none of
#      them, so it fails here. For Zone the frame looked for is its
#      out-of-line front end (FreeWithoutRseq, AllocateWithoutRseq, both
#      ABSL_ATTRIBUTE_NOINLINE), not the inlined hook, whose frame the
#      compiler may drop; UnsynchronizedZone::Free has only its inline frame.
#   2. Correct use must report nothing: the program's clean mode and a few
#      gtest binaries, in the CPU cache modes Valgrind allows (fallback and
#      off: it has no rseq), run with --error-exitcode=1.
# The build is RelWithDebInfo in build/valgrind (ZONEALLOC_VALGRIND_BUILD_DIR
# overrides it), as the valgrind preset makes it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  bash cmake/install_deps.sh
fi
build=${ZONEALLOC_VALGRIND_BUILD_DIR:-build/valgrind}
tests=(zone_test zone_overflow_test overflow_pool_test unsynchronized_zone_test)

echo "=== valgrind: configure and build (${build})" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZONEALLOC_WERROR=ON \
  -DZONEALLOC_VALGRIND=ON -DZONEALLOC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target memcheck_use_after_free "${tests[@]}"

# Possible leaks are not errors: absl::Status keeps a tagged pointer to its
# heap rep, which memcheck counts as "possibly lost" in a Status that a
# function-local static keeps for the process's life (rseq.cc).
memcheck=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# expect_report MODE CPU_CACHE TEXT...: memcheck must fail the run of
# memcheck_use_after_free MODE, and its report contain every TEXT.
expect_report() {
  local mode=$1 cache=$2
  shift 2
  local status=0
  ZONEALLOC_CPU_CACHE=$cache "${memcheck[@]}" --error-exitcode=99 \
    "$build/core/memcheck_use_after_free" "$mode" >"$log" 2>&1 || status=$?
  if ((status != 99)); then
    cat "$log" >&2
    echo "valgrind.sh: ${mode} (${cache}): exit status ${status}, not memcheck's 99" >&2
    return 1
  fi
  local text
  for text in "$@"; do
    if ! grep -qF -- "$text" "$log"; then
      cat "$log" >&2
      echo "valgrind.sh: ${mode} (${cache}): the report lacks '${text}'" >&2
      return 1
    fi
  done
  echo "    ${mode} (${cache}): reported" >&2
}

# expect_clean CPU_CACHE COMMAND...: memcheck must find nothing.
expect_clean() {
  local cache=$1
  shift
  local status=0
  ZONEALLOC_CPU_CACHE=$cache "${memcheck[@]}" -q --error-exitcode=1 "$@" >"$log" 2>&1 ||
    status=$?
  if ((status != 0)); then
    cat "$log" >&2
    echo "valgrind.sh: $* (${cache}): exit status ${status}" >&2
    return 1
  fi
  echo "    ${*##*/} (${cache}): clean" >&2
}

echo "=== valgrind: misuse is reported" >&2
for cache in fallback off; do
  expect_report write_after_free "$cache" "Invalid write of size 1" \
    "is 8 bytes inside a block of size 64 free'd" "zonealloc::Zone::FreeWithoutRseq("
  expect_report read_after_free "$cache" "Invalid read of size 1" \
    "is 63 bytes inside a block of size 64 free'd" "zonealloc::Zone::FreeWithoutRseq("
done
expect_report read_untouched fallback "Invalid read of size 1"
expect_report overflow_write_after_free fallback "Invalid write of size 1" \
  "is 0 bytes inside a block of size 64 free'd" "OverflowPool::Free"
expect_report unsync_write_after_free off "Invalid write of size 1" \
  "is 8 bytes inside a block of size 64 free'd" "Free (unsynchronized_zone.h"
expect_report unsync_read_untouched off "Invalid read of size 1"
expect_report uninitialised fallback \
  "Conditional jump or move depends on uninitialised value(s)"
expect_report debug_overflow_uninitialised fallback \
  "Conditional jump or move depends on uninitialised value(s)"
expect_report leak fallback "64 bytes in 1 blocks are definitely lost" \
  "zonealloc::Zone::AllocateWithoutRseq()"

echo "=== valgrind: correct use reports nothing" >&2
for cache in fallback off; do
  expect_clean "$cache" "$build/core/memcheck_use_after_free" clean
  expect_clean "$cache" "$build/core/zone_test"
  # Past 20 s under memcheck, and the same paths as the rest.
  expect_clean "$cache" "$build/core/zone_overflow_test" \
    --gtest_filter=-*NoSpareOutlivesAFullEpisodeUnderConcurrentFrees
done
expect_clean off "$build/core/overflow_pool_test"
expect_clean off "$build/core/unsynchronized_zone_test"
echo "=== valgrind: memcheck reported every misuse and nothing else" >&2
