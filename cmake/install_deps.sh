#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages zonealloc needs to build, test and benchmark.
# Does nothing when all are present. Run as root (or with sudo available).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  # cmake/fuzz.sh: clang++ and libFuzzer (the runtime is only recommended by clang).
  clang libclang-rt-14-dev
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev libtbb-dev
  # Peers the benchmark compares against, loaded with LD_PRELOAD.
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev
  gnuplot-nox
  # cmake/valgrind.sh: memcheck with the zones' mempool client requests.
  valgrind
  # examples/kvserver: redis-benchmark drives the example server.
  redis-tools
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install_deps: installing ${missing[*]}" >&2
sudo_cmd=()
if ((EUID != 0)); then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
# env, not a prefix assignment: sudo would drop the variable.
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
