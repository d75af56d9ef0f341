// SPDX-License-Identifier: Apache-2.0
#include "bench/versions.h"

#include <gnu/libc-version.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/child_process.h"
#include "oneapi/tbb/version.h"

namespace zonealloc::bench {
namespace {

// Where the benchmark was built from: the checkout whose commit it names.
// Set by bench/CMakeLists.txt for this file only.
constexpr char kSourceDir[] = ZONEALLOC_BENCH_SOURCE_DIR;

// What `program args...` printed, trimmed; empty when it could not run or
// exited non-zero.
std::string OutputOf(const std::string& program, const std::vector<std::string>& args) {
  const std::string path = FindProgram(program);
  if (path.empty()) return "";
  absl::StatusOr<ChildExit> exit = RunChildProcess(path, args, "", absl::Seconds(10));
  if (!exit.ok() || exit->exit_code != 0) return "";
  return std::string(absl::StripAsciiWhitespace(exit->stdout_text));
}

// A peer library: its Debian package and its file, and what to say when
// dpkg-query cannot tell.
struct Library {
  const char* name;
  const char* package;
  const char* file;  // in the library dir; empty when not a file we preload
  std::string (*fallback)();
};

std::string GlibcVersion() { return gnu_get_libc_version(); }
std::string TbbHeadersVersion() {
  return absl::StrFormat("%d.%d (headers)", TBB_VERSION_MAJOR, TBB_VERSION_MINOR);
}
std::string LibstdcxxVersion() { return absl::StrFormat("GCC %d", _GLIBCXX_RELEASE); }
std::string Unknown() { return kUnknownVersion; }

const Library kLibraries[] = {
    {"glibc", "libc6", "", &GlibcVersion},
    {"jemalloc", "libjemalloc2", "libjemalloc.so.2", &Unknown},
    {"tcmalloc", "libtcmalloc-minimal4", "libtcmalloc_minimal.so.4", &Unknown},
    {"mimalloc", "libmimalloc2.0", "libmimalloc.so.2", &Unknown},
    {"oneTBB", "libtbbmalloc2", "libtbbmalloc_proxy.so.2", &TbbHeadersVersion},
    {"libstdc++", "libstdc++6", "", &LibstdcxxVersion},
};

// The Debian package's version; else the real name of the library file
// (libmimalloc.so.2 -> libmimalloc.so.2.0 says a little); else the fallback.
std::string VersionOf(const Library& library, const std::string& library_dir) {
  const std::string file = library.file[0] != '\0' ? library_dir + "/" + library.file : "";
  // A missing peer is "not installed" in the table; do not ask dpkg about it.
  if (!file.empty() && access(file.c_str(), R_OK) != 0) return kUnknownVersion;
  if (std::string version = DebianPackageVersion(library.package); !version.empty()) {
    return version;
  }
  if (!file.empty()) {
    std::error_code error;
    const std::filesystem::path real = std::filesystem::canonical(file, error);
    if (!error) return real.filename().string();
  }
  return library.fallback();
}

}  // namespace

std::string Versions::OneLine() const {
  std::vector<std::string> parts;
  for (const LibraryVersion& library : libraries) {
    parts.push_back(absl::StrFormat("%s %s", library.library, library.version));
  }
  return absl::StrFormat("zonealloc %s; %s", zonealloc_commit, absl::StrJoin(parts, ", "));
}

std::string FindProgram(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin", ':')) {
    if (dir.empty()) continue;
    const std::string candidate = absl::StrFormat("%s/%s", std::string(dir), program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ZoneallocCommit(const std::string& source_dir) {
  // safe.directory: a checkout owned by another user (a root benchmark of
  // a user's tree) is only read here, so git may trust it.
  const std::string commit =
      OutputOf("git", {"-c", "safe.directory=" + source_dir, "-C", source_dir, "describe",
                       "--always", "--dirty", "--abbrev=12"});
  return commit.empty() ? kUnknownVersion : commit;
}

std::string DebianPackageVersion(const std::string& package) {
  return OutputOf("dpkg-query", {"-W", "-f=${Version}", package});
}

Versions CurrentVersions(const std::string& library_dir) {
  Versions versions;
  versions.zonealloc_commit = ZoneallocCommit(kSourceDir);
  for (const Library& library : kLibraries) {
    versions.libraries.push_back({library.name, VersionOf(library, library_dir)});
  }
  return versions;
}

}  // namespace zonealloc::bench
