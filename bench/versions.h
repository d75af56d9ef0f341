// SPDX-License-Identifier: Apache-2.0
// Versions says which code a benchmark measured: the zonealloc commit and
// the version of each peer library, for the table's heading and
// summary.json. A figure from a different jemalloc, or from a zonealloc
// commit nobody can name, cannot be compared or repeated.
//
// Each is looked up when the benchmark runs, never baked in at build time,
// so a rebuilt driver never reports a stale commit. What cannot be found
// reads "unknown" (not a git checkout, no git, no dpkg-query): a benchmark
// on a tarball or a non-Debian machine still runs.

#ifndef ZONEALLOC_BENCH_VERSIONS_H_
#define ZONEALLOC_BENCH_VERSIONS_H_

#include <string>
#include <vector>

namespace zonealloc::bench {

inline constexpr char kUnknownVersion[] = "unknown";

// One library the peers come from, e.g. {"jemalloc", "5.3.0-1"}.
struct LibraryVersion {
  std::string library;  // jemalloc, glibc, oneTBB, ...
  std::string version;  // the Debian package version, or as found; "unknown"
};

struct Versions {
  // `git describe --always --dirty --abbrev=12` of the source tree, e.g.
  // "463d5bf1c0de-dirty" (uncommitted changes were measured too).
  std::string zonealloc_commit = kUnknownVersion;
  std::vector<LibraryVersion> libraries;

  // One line: "zonealloc 463d5bf1c0de; glibc 2.36, jemalloc 5.3.0-1, ...".
  std::string OneLine() const;
};

// `program`'s path from PATH, or empty when it is not installed.
std::string FindProgram(const std::string& program);

// The commit of the git checkout at `source_dir`; "unknown" when git is
// missing or `source_dir` is not a checkout.
std::string ZoneallocCommit(const std::string& source_dir);

// The Debian package `package`'s installed version (dpkg-query); empty when
// it is not installed or dpkg-query is missing.
std::string DebianPackageVersion(const std::string& package);

// The zonealloc commit of this source tree (where the benchmark was built
// from) and the versions of glibc, jemalloc, gperftools' tcmalloc,
// mimalloc, oneTBB (tbbmalloc, tbb_pool) and libstdc++ (the pmr pools).
// Peer libraries are looked up in `library_dir`.
Versions CurrentVersions(const std::string& library_dir);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_VERSIONS_H_
