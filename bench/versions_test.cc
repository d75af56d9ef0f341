// SPDX-License-Identifier: Apache-2.0
#include "bench/versions.h"

#include <gnu/libc-version.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "bench/child_process.h"
#include "bench/contenders.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zonealloc::bench {
namespace {

using ::testing::MatchesRegex;

// A fresh folder under the test's temporary directory.
std::string FreshDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(VersionsTest, AFolderThatIsNotACheckoutHasAnUnknownCommit) {
  EXPECT_EQ(ZoneallocCommit(FreshDir("not_a_checkout")), "unknown");
  EXPECT_EQ(ZoneallocCommit("/nonexistent/zonealloc"), "unknown");
}

// Makes `dir` a git checkout with one commit; false when git is missing.
bool MakeCheckout(const std::string& dir) {
  const std::string git = FindProgram("git");
  if (git.empty()) return false;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-C", dir, "init", "-q"},
        std::vector<std::string>{"-C", dir, "-c", "user.name=bench", "-c", "user.email=b@example",
                                 "commit", "-q", "--allow-empty", "-m", "first"}}) {
    absl::StatusOr<ChildExit> exit = RunChildProcess(git, args, "", absl::Seconds(30));
    EXPECT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit.ok() ? exit->exit_code : -1, 0) << (exit.ok() ? exit->Describe() : "");
  }
  return true;
}

TEST(VersionsTest, ACheckoutsCommitIsNamed) {
  const std::string dir = FreshDir("checkout");
  if (!MakeCheckout(dir)) GTEST_SKIP() << "git is not installed";
  EXPECT_THAT(ZoneallocCommit(dir), MatchesRegex("[0-9a-f]{12}"));
}

TEST(VersionsTest, ACheckoutOwnedByAnotherUserIsStillNamed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to give the checkout away";
  const std::string dir = FreshDir("someone_elses_checkout");
  if (!MakeCheckout(dir)) GTEST_SKIP() << "git is not installed";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    ASSERT_EQ(lchown(entry.path().c_str(), 65534, 65534), 0) << entry.path();  // nobody
  }
  ASSERT_EQ(lchown(dir.c_str(), 65534, 65534), 0);
  EXPECT_THAT(ZoneallocCommit(dir), MatchesRegex("[0-9a-f]{12}"));
}

TEST(VersionsTest, AMissingPackageHasNoVersion) {
  EXPECT_EQ(DebianPackageVersion("zonealloc-no-such-package"), "");
}

TEST(VersionsTest, EveryPeerLibraryIsListedAndGlibcIsTheOneRunning) {
  const Versions versions = CurrentVersions(DebianLibraryDir());
  std::vector<std::string> names;
  for (const LibraryVersion& library : versions.libraries) {
    names.push_back(library.library);
    EXPECT_FALSE(library.version.empty()) << library.library;
  }
  EXPECT_THAT(names, ::testing::ElementsAre("glibc", "jemalloc", "tcmalloc", "mimalloc", "oneTBB",
                                            "libstdc++"));
  // Debian's "2.36-9+deb12u14", or gnu_get_libc_version()'s "2.36" itself.
  EXPECT_TRUE(absl::StartsWith(versions.libraries[0].version, gnu_get_libc_version()))
      << versions.libraries[0].version;
}

TEST(VersionsTest, AMissingPeerLibraryIsUnknown) {
  const Versions versions = CurrentVersions("/nonexistent");
  EXPECT_EQ(versions.libraries[1].library, "jemalloc");
  EXPECT_EQ(versions.libraries[1].version, "unknown");
}

TEST(VersionsTest, OneLineNamesTheCommitThenEachLibrary) {
  const Versions versions{.zonealloc_commit = "463d5bf1c0de-dirty",
                          .libraries = {{"glibc", "2.36-9"}, {"jemalloc", "5.3.0-1"}}};
  EXPECT_EQ(versions.OneLine(), "zonealloc 463d5bf1c0de-dirty; glibc 2.36-9, jemalloc 5.3.0-1");
}

}  // namespace
}  // namespace zonealloc::bench
