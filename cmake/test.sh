#!/usr/bin/env bash
# README command 2: installs what is missing, then builds and runs every test
# in the release, debug (-O0), asan (ASan + UBSan) and tsan builds. Fails on
# any failure.
# ZONEALLOC_PRESETS="release" limits the builds (for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash cmake/install_deps.sh
jobs=$(nproc)
for preset in ${ZONEALLOC_PRESETS:-release debug asan tsan}; do
  echo "=== ${preset}: configure and build" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== ${preset}: test" >&2
  ctest --preset "$preset" -j "$jobs"
done
echo "=== all tests passed (${ZONEALLOC_PRESETS:-release debug asan tsan})" >&2
