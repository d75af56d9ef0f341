#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 2: installs what is missing, then builds and runs every test
# in the release, debug (-O0), asan (clang: ASan + UBSan, and clang's
# thread-safety analysis, -Wthread-safety -Werror) and tsan builds. Fails on
# any failure. Then installs the library and builds a consumer against it
# three ways (cmake/consumer_test.sh), checks the memcheck hooks
# (cmake/valgrind.sh), and runs
# the fuzzer under ASan for ZONEALLOC_FUZZ_SECONDS (default 60; 0 skips it)
# with cmake/fuzz.sh.
# ZONEALLOC_PRESETS="release" limits the builds (for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Checked before anything is built: "30s" must not skip the fuzzer silently.
fuzz_seconds=${ZONEALLOC_FUZZ_SECONDS:-60}
if [[ ! $fuzz_seconds =~ ^[0-9]+$ ]]; then
  echo "test.sh: ZONEALLOC_FUZZ_SECONDS must be a whole number of seconds (0 skips fuzzing)," \
    "got '${fuzz_seconds}'" >&2
  exit 2
fi

bash cmake/install_deps.sh
jobs=$(nproc)
for preset in ${ZONEALLOC_PRESETS:-release debug asan tsan}; do
  echo "=== ${preset}: configure and build" >&2
  # --fresh: a CMakeCache.txt left in build/<preset> cannot change what is tested.
  cmake --preset "$preset" --fresh >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== ${preset}: test" >&2
  ctest --preset "$preset" -j "$jobs"
done
echo "=== install, then build and run cmake/consumer/ (find_package, pkg-config, add_subdirectory)" >&2
bash cmake/consumer_test.sh
bash cmake/valgrind.sh
if ((10#$fuzz_seconds > 0)); then
  bash cmake/fuzz.sh "$fuzz_seconds"
fi
echo "=== all tests passed (${ZONEALLOC_PRESETS:-release debug asan tsan}; consumer; valgrind; fuzz ${fuzz_seconds} s)" >&2
