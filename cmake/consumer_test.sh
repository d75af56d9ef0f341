#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Uses zonealloc as a project outside this tree would, and fails on any
# failure. Builds and installs zonealloc (Release, no tests or benchmarks)
# into a temporary prefix, static and then shared, and checks what was
# installed: every public header and nothing from core/testing/ or the
# private headers (ZONEALLOC_PRIVATE_HEADERS), headers that
# compile on their own, no build-only target in the CMake export, the shared
# library's soname. Then builds and runs cmake/consumer/ against it with
# find_package, with CMake's PkgConfig module and with a plain
# `g++ $(pkg-config --cflags --libs zonealloc)` line, and once more from
# the source tree with add_subdirectory, installing and exporting its own
# library. Each run must print this tree's version.
# ZONEALLOC_CONSUMER_KEEP=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/zonealloc-consumer.XXXXXX")
if [[ "${ZONEALLOC_CONSUMER_KEEP:-0}" == 1 ]]; then
  echo "consumer_test: keeping $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi
jobs=$(nproc)
version=$(sed -n 's/^project(zonealloc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IFS=. read -r major minor _ <<<"$version"
# As CMakeLists.txt: before 1.0 the soname and compatibility follow
# major.minor, from 1.0 the major version.
if ((major == 0)); then
  soversion=$major.$minor
  incompatible=$major.$((minor + 1))
else
  soversion=$major
  incompatible=$((major + 1)).0
fi
[[ -n "$version" ]] || { echo "consumer_test: no version in CMakeLists.txt" >&2; exit 1; }

fail() { echo "consumer_test: FAIL: $*" >&2; exit 1; }

# run_consumer LABEL BINARY: runs it and checks the version it printed.
run_consumer() {
  local out
  out=$("$2") || fail "$1: $2 exited with $?"
  grep -qx "zonealloc $version" <<<"$out" || fail "$1: printed '$out', not version $version"
  echo "consumer_test: $1: ok" >&2
}

# configure_consumer BUILD_DIR ARGS...: cmake/consumer/ in BUILD_DIR.
configure_consumer() {
  local dir=$1
  shift
  cmake -S cmake/consumer -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.log" 2>&1 ||
    { cat "$dir.log" >&2; fail "configure cmake/consumer $*"; }
}

# build_and_run_consumer LABEL BUILD_DIR ARGS...: configures cmake/consumer/
# in BUILD_DIR with ARGS, builds it and runs it (run_consumer).
build_and_run_consumer() {
  local label=$1 dir=$2
  shift 2
  configure_consumer "$dir" "$@"
  cmake --build "$dir" -j "$jobs" >/dev/null
  run_consumer "$label" "$dir/consumer"
}

# expect_version_refused LABEL BUILD_DIR PREFIX VERSION: find_package of
# VERSION against the install in PREFIX must fail, and for the version alone:
# CMake found this tree's package and refused it. Any other failure (no
# generator, a typo) fails the check: it would say nothing about compatibility.
expect_version_refused() {
  local label=$1 dir=$2 prefix=$3 wanted=$4 log
  if cmake -S cmake/consumer -B "$dir" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
       -DZONEALLOC_CONSUMER_VERSION="$wanted" >"$dir.log" 2>&1; then
    fail "$label: find_package(zonealloc $wanted) accepted version $version"
  fi
  # CMake wraps its message; compare it as one line.
  log=$(tr -s ' \n' '  ' <"$dir.log")
  grep -qF "compatible with requested version \"$wanted\"" <<<"$log" &&
    grep -qF "considered but not accepted" <<<"$log" &&
    grep -qF "zonealloc-config.cmake, version: $version" <<<"$log" ||
    { cat "$dir.log" >&2; fail "$label: find_package(zonealloc $wanted) failed, but not for its version"; }
  echo "consumer_test: $label: ok" >&2
}

for linkage in static shared; do
  shared=OFF
  [[ "$linkage" == shared ]] && shared=ON
  build=$work/$linkage/build
  prefix=$work/$linkage/prefix
  echo "=== consumer_test: zonealloc $version, $linkage: build and install into $prefix" >&2
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZONEALLOC_BUILD_TESTS=OFF \
        -DZONEALLOC_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS="$shared" \
        -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
  cmake --build "$build" -j "$jobs" >/dev/null
  cmake --install "$build" >/dev/null

  # The installed headers are the build tree's, less the tests' helpers.
  diff <(cd "$build/include" && find . -name '*.h' ! -path './zonealloc/testing/*' | sort) \
       <(cd "$prefix/include" && find . -name '*.h' | sort) ||
    fail "$linkage: installed headers differ from the build tree's (< build, > installed)"
  [[ ! -e "$prefix/include/zonealloc/testing" ]] || fail "$linkage: zonealloc/testing/ was installed"
  [[ ! -e "$prefix/include/zonealloc/internal/crash_format.h" ]] ||
    fail "$linkage: a private header (internal/crash_format.h) was installed"
  ! grep -rq zonealloc_build_flags "$prefix" || fail "$linkage: zonealloc_build_flags leaked into the install"
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  libdir=$(pkg-config --variable=libdir zonealloc)
  if [[ "$linkage" == shared ]]; then
    readelf -d "$libdir/libzonealloc.so.$version" | grep -qF "[libzonealloc.so.$soversion]" ||
      fail "shared: libzonealloc.so.$version has no soname libzonealloc.so.$soversion"
  else
    # Every installed header compiles on its own against the installed tree.
    cflags=$(pkg-config --cflags zonealloc)
    (cd "$prefix/include" && find zonealloc -name '*.h' | sort) |
      xargs -P "$jobs" -I{} sh -c \
        "echo '#include <{}>' | g++ -std=c++20 -fsyntax-only $cflags -x c++ - ||
         { echo 'consumer_test: {} does not compile on its own' >&2; exit 255; }" ||
      fail "static: an installed header does not compile on its own"
  fi

  # 1. find_package(zonealloc 0.1 CONFIG REQUIRED), and a request for the
  #    next incompatible version refused.
  build_and_run_consumer "$linkage: find_package" "$work/$linkage/package" \
                         -DCMAKE_PREFIX_PATH="$prefix"
  expect_version_refused "$linkage: find_package($incompatible) refused" "$work/$linkage/refused" \
                         "$prefix" "$incompatible"

  # 2. pkg-config, through CMake's PkgConfig module and on a g++ line.
  build_and_run_consumer "$linkage: CMake PkgConfig" "$work/$linkage/pkgconfig" \
                         -DZONEALLOC_CONSUMER_FROM=pkgconfig
  # shellcheck disable=SC2046  # the flags are meant to split, as on a user's line
  g++ -std=c++20 -O2 cmake/consumer/consumer.cc cmake/consumer/zone_check.cc \
      $(pkg-config --cflags --libs zonealloc) -Wl,-rpath,"$libdir" -o "$work/$linkage/gxx-consumer" ||
    fail "$linkage: g++ \$(pkg-config --cflags --libs zonealloc)"
  run_consumer "$linkage: g++ with pkg-config" "$work/$linkage/gxx-consumer"
  unset PKG_CONFIG_PATH
done

# 3. add_subdirectory of this tree, by a project that installs and exports
#    its own library linking zonealloc.
echo "=== consumer_test: add_subdirectory" >&2
build_and_run_consumer "add_subdirectory" "$work/source" -DZONEALLOC_CONSUMER_FROM=source \
                       -DZONEALLOC_CONSUMER_EXPORT=ON -DCMAKE_INSTALL_PREFIX="$work/source-prefix"
cmake --install "$work/source" >/dev/null
[[ -f "$work/source-prefix/lib/cmake/zonealloc_consumer/consumer-targets.cmake" ]] ||
  fail "add_subdirectory: the consumer's export was not installed"

echo "=== consumer_test: all passed (zonealloc $version: static, shared, add_subdirectory)" >&2
