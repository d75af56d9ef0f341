// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/possible_cpus.h>

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/concurrency/percpu_cache.h>

namespace zonealloc {
namespace {

using ::testing::HasSubstr;

TEST(ParseCpuIdLimitTest, TheHighestIdPlusOne) {
  EXPECT_EQ(ParseCpuIdLimit("0").value(), 1);
  EXPECT_EQ(ParseCpuIdLimit("0-3").value(), 4);
  EXPECT_EQ(ParseCpuIdLimit("0-63\n").value(), 64);  // as sysfs writes it
  EXPECT_EQ(ParseCpuIdLimit("0,2,4").value(), 5);
}

// The bug get_nprocs_conf() has: it counts 8 CPUs here, but ids run to 11.
TEST(ParseCpuIdLimitTest, HolesInTheListDoNotShrinkIt) {
  EXPECT_EQ(ParseCpuIdLimit("0-3,8-11\n").value(), 12);
  EXPECT_EQ(ParseCpuIdLimit("8-11,0-3").value(), 12) << "in any order";
}

TEST(ParseCpuIdLimitTest, GarbageIsInvalidArgumentNamingTheText) {
  for (std::string_view bad : {"", "\n", "cpu0", "0-", "-3", "3-1", "0,,1", "0-3,x", "1 2", "+1",
                               "0-70000", "99999999999999999999"}) {
    const absl::StatusOr<int> limit = ParseCpuIdLimit(bad);
    EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument) << '"' << bad << '"';
    EXPECT_THAT(limit.status().message(), HasSubstr("is not a CPU list")) << bad;
  }
  EXPECT_THAT(ParseCpuIdLimit("0-3,x").status().message(), HasSubstr("\"0-3,x\""));
  EXPECT_THAT(ParseCpuIdLimit("0-3\nx\n").status().message(), HasSubstr("\"0-3\\nx\\n\""))
      << "escaped, so the message stays one line";
}

// A fake root holding sys/devices/system/cpu/possible, removed when it ends.
class FakeSysfs {
 public:
  FakeSysfs() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("possible_cpus_test.") + test->name() + "." + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  ~FakeSysfs() { std::filesystem::remove_all(root_); }

  void WritePossible(std::string_view contents) {
    const std::filesystem::path file = root_ / "sys/devices/system/cpu/possible";
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << contents;
  }

  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

int CountedCpus() { return std::max(1, get_nprocs_conf()); }

TEST(PossibleCpuIdLimitTest, ReadsThePossibleMaskUnderTheRoot) {
  FakeSysfs sysfs;
  sysfs.WritePossible("0-3,8-11\n");
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root()), 12);
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root() + "/"), 12);
}

// Room for vCPUs that are not there yet: a VM booted with 2 CPUs and room to
// hot-add up to 64 says "0-63".
TEST(PossibleCpuIdLimitTest, CoversCpusThatMayBeHotAddedLater) {
  FakeSysfs sysfs;
  sysfs.WritePossible("0-63\n");
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root()), 64);
}

TEST(PossibleCpuIdLimitTest, AMissingFileFallsBackToTheCount) {
  FakeSysfs sysfs;
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root()), CountedCpus());
}

TEST(PossibleCpuIdLimitTest, AMalformedFileFallsBackToTheCount) {
  FakeSysfs sysfs;
  sysfs.WritePossible("lots\n");
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root()), CountedCpus());
  sysfs.WritePossible("");
  EXPECT_EQ(PossibleCpuIdLimit(sysfs.root()), CountedCpus());
}

// The live machine: only what holds everywhere. Ids are distinct, so the
// highest + 1 is at least the count.
TEST(PossibleCpuIdLimitTest, TheLiveMachineCoversEveryCountedCpu) {
  EXPECT_GE(PossibleCpuIdLimit(), CountedCpus());
}

TEST(PossibleCpuIdLimitTest, PerCpuCacheKeepsTheLiveAnswer) {
  EXPECT_EQ(PerCpuCache::PossibleCpus(), PossibleCpuIdLimit());
  EXPECT_EQ(PerCpuCache::PossibleCpus(), PerCpuCache::PossibleCpus());
}

}  // namespace
}  // namespace zonealloc
