#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds zonealloc's libFuzzer targets with clang, ASan and UBSan (debug
# checks on) in build/fuzz, runs zone_fuzzer (core/zone_fuzzer.cc: a Zone
# against a model) for a bounded time from core/zone_fuzzer_corpus, then
# shows the checks can fail: zone_fuzzer_broken_model, built with a
# deliberately wrong model, must report a model mismatch within 30 s.
# Fails if the fuzzer finds anything, or if the broken model goes unnoticed.
#   bash cmake/fuzz.sh [SECONDS]   # how long zone_fuzzer runs; default 60
# cmake/test.sh runs it after the presets. A failing input is kept in
# build/fuzz/run/crash-*; replay it with build/fuzz/zone_fuzzer FILE (add
# ZONE_FUZZER_TRACE=1 for one line per operation).
# ZONEALLOC_FUZZ_BUILD_DIR and ZONEALLOC_FUZZ_JOBS override build/fuzz and nproc.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${ZONEALLOC_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${ZONEALLOC_FUZZ_JOBS:-$(nproc)}

bash cmake/install_deps.sh

echo "=== fuzz: configure and build (clang, ASan + UBSan)" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DZONEALLOC_SANITIZER=address -DZONEALLOC_BUILD_FUZZERS=ON \
  -DZONEALLOC_BUILD_TESTS=OFF -DZONEALLOC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target zone_fuzzer zone_fuzzer_broken_model

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

# New inputs go to a scratch corpus; the checked-in seeds are only read.
run="$build/run"
rm -rf "$run" && mkdir -p "$run/corpus"
echo "=== fuzz: zone_fuzzer for ${seconds} s" >&2
if ! "$build/zone_fuzzer" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
     -artifact_prefix="$run/" "$run/corpus" core/zone_fuzzer_corpus \
     >"$run/zone_fuzzer.log" 2>&1; then
  tail -n 60 "$run/zone_fuzzer.log" >&2
  echo "=== fuzz: zone_fuzzer FAILED; input:" "$run"/{crash,timeout,oom,leak}-* >&2
  exit 1
fi
grep -E '^Done|stat::number_of_executed_units|stat::average_exec_per_sec' "$run/zone_fuzzer.log" >&2

# The broken model forgets that freeing a permanent block ends a full episode;
# from the guidelines' example alone the fuzzer finds that in seconds.
broken="$build/broken"
rm -rf "$broken" && mkdir -p "$broken/corpus"
cp core/zone_fuzzer_corpus/guidelines_extend "$broken/corpus/"
echo "=== fuzz: zone_fuzzer_broken_model must fail" >&2
if "$build/zone_fuzzer_broken_model" -max_total_time=30 -artifact_prefix="$broken/" \
     "$broken/corpus" >"$broken/log" 2>&1; then
  echo "=== fuzz: the deliberately broken model went unnoticed for 30 s" >&2
  exit 1
fi
if ! grep -m1 'zone_fuzzer: model mismatch' "$broken/log" >&2; then
  tail -n 40 "$broken/log" >&2
  echo "=== fuzz: zone_fuzzer_broken_model failed, but not with a model mismatch" >&2
  exit 1
fi
echo "=== fuzz: passed (${seconds} s; the broken model was caught)" >&2
