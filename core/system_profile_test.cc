// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/system_profile.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/testing/scoped_env.h>

namespace zonealloc {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kGiB = uint64_t{1} << 30;

// A fake machine: a temporary file tree for SystemProbe::root, plus the
// environment and affinity mask that Detect() would otherwise read from
// this process. Each test gets its own tree, removed when it ends.
class FakeMachine {
 public:
  FakeMachine() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("system_profile_test.") + test->name() + "." + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  ~FakeMachine() { std::filesystem::remove_all(root_); }

  // Writes `contents` to `path` (relative to the root), making directories.
  FakeMachine& Write(const std::string& path, std::string_view contents) {
    const std::filesystem::path file = root_ / path;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << contents;
    return *this;
  }

  FakeMachine& MemTotalGiB(uint64_t gib) {
    return Write("proc/meminfo", "MemTotal:       " + std::to_string(gib << 20) +
                                     " kB\nMemFree:         1024 kB\n");
  }

  std::string root() const { return root_.string(); }

  // A probe reading only this fake machine: 8 CPUs and an empty
  // environment unless a test sets `env` or `cpus`.
  SystemProbe Probe() const {
    SystemProbe probe;
    probe.root = root();
    probe.getenv = [env = env](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    probe.affinity_cpus = [cpus = cpus] { return cpus; };
    return probe;
  }

  std::map<std::string, std::string> env;
  int cpus = 8;

 private:
  std::filesystem::path root_;
};

// Detects `machine`, failing the test on an error.
SystemProfile Detect(const FakeMachine& machine) {
  absl::StatusOr<SystemProfile> profile = SystemProfile::Detect(machine.Probe());
  EXPECT_TRUE(profile.ok()) << profile.status();
  return profile.value_or(SystemProfile{});
}

SystemProfile WithMemory(uint64_t physical, uint64_t cgroup_limit = 0) {
  SystemProfile profile;
  profile.physical_memory_bytes = physical;
  profile.cgroup_memory_limit_bytes = cgroup_limit;
  return profile;
}

TEST(SystemProfileTest, MemoryClassBoundaries) {
  EXPECT_EQ(WithMemory(4 * kGiB - 1).memory_class(), MemoryClass::kSmall);
  EXPECT_EQ(WithMemory(4 * kGiB).memory_class(), MemoryClass::kMedium);
  EXPECT_EQ(WithMemory(32 * kGiB - 1).memory_class(), MemoryClass::kMedium);
  EXPECT_EQ(WithMemory(32 * kGiB).memory_class(), MemoryClass::kLarge);
}

TEST(SystemProfileTest, UsableMemoryIsTheLowerOfPhysicalAndCgroupLimit) {
  EXPECT_EQ(WithMemory(64 * kGiB).usable_memory_bytes(), 64 * kGiB);  // 0: no limit
  EXPECT_EQ(WithMemory(64 * kGiB, 2 * kGiB).usable_memory_bytes(), 2 * kGiB);
  EXPECT_EQ(WithMemory(8 * kGiB, 100 * kGiB).usable_memory_bytes(), 8 * kGiB);

  // A container limit moves a large host into the small class.
  EXPECT_EQ(WithMemory(64 * kGiB, 2 * kGiB).memory_class(), MemoryClass::kSmall);
}

TEST(SystemProfileTest, Names) {
  EXPECT_EQ(MemoryClassName(MemoryClass::kSmall), "small");
  EXPECT_EQ(MemoryClassName(MemoryClass::kMedium), "medium");
  EXPECT_EQ(MemoryClassName(MemoryClass::kLarge), "large");
  EXPECT_EQ(SystemRoleName(SystemRole::kWorkstation), "workstation");
  EXPECT_EQ(SystemRoleName(SystemRole::kServer), "server");
}

TEST(SystemProfileTest, ParseSystemRoleIgnoresCase) {
  EXPECT_EQ(ParseSystemRole("server").value(), SystemRole::kServer);
  EXPECT_EQ(ParseSystemRole("SERVER").value(), SystemRole::kServer);
  EXPECT_EQ(ParseSystemRole("Workstation").value(), SystemRole::kWorkstation);

  absl::StatusOr<SystemRole> bad = ParseSystemRole("desktop");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("desktop"));
}

TEST(SystemProfileTest, DebugString) {
  SystemProfile profile = WithMemory(24 * kGiB);
  profile.usable_cpus = 2;
  EXPECT_EQ(profile.DebugString(), "medium workstation, 24.0 GiB usable of 24.0 GiB, 2 CPUs");

  profile = WithMemory(64 * kGiB, 3 * kGiB / 2);
  profile.usable_cpus = 1;
  profile.role = SystemRole::kServer;
  EXPECT_EQ(profile.DebugString(), "small server, 1.5 GiB usable of 64.0 GiB, 1 CPU");
}

TEST(SystemProfileDetectTest, NoCgroupMeansNoLimit) {
  FakeMachine machine;
  machine.MemTotalGiB(16);

  SystemProfile profile = Detect(machine);
  EXPECT_EQ(profile.physical_memory_bytes, 16 * kGiB);
  EXPECT_EQ(profile.cgroup_memory_limit_bytes, 0u);
  EXPECT_EQ(profile.usable_cpus, 8);
  EXPECT_EQ(profile.role, SystemRole::kWorkstation);
  EXPECT_EQ(profile.memory_class(), MemoryClass::kMedium);
}

TEST(SystemProfileDetectTest, RootMayEndInSlash) {
  FakeMachine machine;
  machine.MemTotalGiB(2);
  SystemProbe probe = machine.Probe();
  probe.root += "/";
  EXPECT_EQ(SystemProfile::Detect(probe).value().physical_memory_bytes, 2 * kGiB);
}

TEST(SystemProfileDetectTest, MissingMeminfoIsAnErrorNamingThePath) {
  FakeMachine machine;
  absl::StatusOr<SystemProfile> profile = SystemProfile::Detect(machine.Probe());
  ASSERT_FALSE(profile.ok());
  EXPECT_THAT(profile.status().message(), HasSubstr(machine.root() + "/proc/meminfo"));
}

TEST(SystemProfileDetectTest, MeminfoWithoutMemTotalIsAnErrorNamingThePath) {
  FakeMachine machine;
  machine.Write("proc/meminfo", "MemFree: 1024 kB\n");
  absl::StatusOr<SystemProfile> profile = SystemProfile::Detect(machine.Probe());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(profile.status().message(), HasSubstr(machine.root() + "/proc/meminfo"));
}

TEST(SystemProfileDetectTest, CgroupV2MemoryMax) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/system.slice/app.service\n")
      .Write("sys/fs/cgroup/system.slice/app.service/memory.max", "2147483648\n");

  SystemProfile profile = Detect(machine);
  EXPECT_EQ(profile.cgroup_memory_limit_bytes, 2 * kGiB);
  EXPECT_EQ(profile.memory_class(), MemoryClass::kSmall);
}

TEST(SystemProfileDetectTest, CgroupV2MaxMeansNoLimit) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/memory.max", "max\n");

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 0u);
}

TEST(SystemProfileDetectTest, CgroupV2TakesTheLowestLimitOnThePath) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/outer/middle/inner\n")
      .Write("sys/fs/cgroup/outer/memory.max", "8589934592\n")  // 8 GiB
      .Write("sys/fs/cgroup/outer/middle/memory.max", "max\n")
      .Write("sys/fs/cgroup/outer/middle/inner/memory.max", "17179869184\n");  // 16 GiB

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 8 * kGiB);
}

TEST(SystemProfileDetectTest, CgroupV1MemoryLimit) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup",
             "12:cpu,cpuacct:/docker/abc\n"
             "4:memory:/docker/abc\n"
             "1:name=systemd:/docker/abc\n")
      .Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "4294967296\n");

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 4 * kGiB);
}

TEST(SystemProfileDetectTest, CgroupV1HugeLimitMeansNone) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "4:memory:/docker/abc\n")
      .Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 0u);
}

TEST(SystemProfileDetectTest, CgroupV1TakesTheLowestLimitOnThePath) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "4:memory:/docker/abc\n")
      .Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
      .Write("sys/fs/cgroup/memory/docker/memory.limit_in_bytes", "1073741824\n")
      .Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "4294967296\n");

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 1 * kGiB);
}

TEST(SystemProfileDetectTest, CgroupOutsideOurNamespaceIsIgnored) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/../elsewhere\n")
      .Write("sys/fs/cgroup/memory.max", "1073741824\n");

  EXPECT_EQ(Detect(machine).cgroup_memory_limit_bytes, 0u);
}

TEST(SystemProfileDetectTest, MalformedCgroupFileIsAnErrorNamingThePath) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/memory.max", "lots\n");

  absl::StatusOr<SystemProfile> profile = SystemProfile::Detect(machine.Probe());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(profile.status().message(),
              HasSubstr(machine.root() + "/sys/fs/cgroup/app/memory.max"));
  EXPECT_THAT(profile.status().message(), HasSubstr("lots"));
}

// A cgroup file that exists but cannot be read (here a directory: root
// reads any file) is an error for Detect(). DetectWithFallbacks() reads the
// rest: other levels' limits, the CPU quota, the machine's memory.
TEST(SystemProfileDetectTest, AnUnreadableCgroupFileCostsOnlyItsLimit) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/app/worker\n")
      .Write("sys/fs/cgroup/app/worker/memory.max/unreadable", "")
      .Write("sys/fs/cgroup/app/memory.max", std::to_string(4 * kGiB) + "\n")
      .Write("sys/fs/cgroup/app/cpu.max", "200000 100000\n");
  const std::string path = machine.root() + "/sys/fs/cgroup/app/worker/memory.max";

  EXPECT_THAT(SystemProfile::Detect(machine.Probe()).status().message(), HasSubstr(path));

  std::vector<absl::Status> problems;
  const SystemProfile profile = SystemProfile::DetectWithFallbacks(machine.Probe(), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message(), HasSubstr(path));
  EXPECT_EQ(profile.physical_memory_bytes, 64 * kGiB);
  EXPECT_EQ(profile.cgroup_memory_limit_bytes, 4 * kGiB) << "the parent's limit is still read";
  EXPECT_EQ(profile.usable_cpus, 2) << "cpu.max still read";
}

// An unreadable memory limit is not "no limit": a container's proc/meminfo
// shows the host's memory. It counts as 16 GiB, a medium machine.
TEST(SystemProfileDetectTest, AnUnreadableMemoryLimitCountsAs16GiB) {
  FakeMachine machine;
  machine.MemTotalGiB(512)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/memory.max", "lots\n");
  std::vector<absl::Status> problems;
  const SystemProfile profile = SystemProfile::DetectWithFallbacks(machine.Probe(), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message(), HasSubstr("lots"));
  EXPECT_EQ(profile.usable_memory_bytes(), 16 * kGiB);
  EXPECT_EQ(profile.memory_class(), MemoryClass::kMedium);
}

TEST(SystemProfileDetectTest, AnUnreadableCpuMaxLeavesTheAffinityMask) {
  FakeMachine machine;
  machine.MemTotalGiB(16)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/cpu.max", "half\n");
  machine.cpus = 6;
  std::vector<absl::Status> problems;
  const SystemProfile profile = SystemProfile::DetectWithFallbacks(machine.Probe(), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(profile.usable_cpus, 6);
}

TEST(SystemProfileDetectTest, WithoutMeminfoTheFallbackAssumes16GiBAndKeepsTheCgroupLimit) {
  FakeMachine machine;
  machine.Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/memory.max", std::to_string(4 * kGiB) + "\n");
  machine.cpus = 3;

  std::vector<absl::Status> problems;
  const SystemProfile profile = SystemProfile::DetectWithFallbacks(machine.Probe(), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message(), HasSubstr(machine.root() + "/proc/meminfo"));
  EXPECT_EQ(profile.physical_memory_bytes, 16 * kGiB);
  EXPECT_EQ(profile.usable_memory_bytes(), 4 * kGiB);
  EXPECT_EQ(profile.usable_cpus, 3);
}

TEST(SystemProfileDetectTest, AReadableMachineHasNoProblems) {
  FakeMachine machine;
  machine.MemTotalGiB(8);
  std::vector<absl::Status> problems;
  const SystemProfile profile = SystemProfile::DetectWithFallbacks(machine.Probe(), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(profile.physical_memory_bytes, 8 * kGiB);
  EXPECT_EQ(profile.usable_cpus, 8);
}

TEST(SystemProfileDetectTest, CpuMaxCapsTheAffinityMask) {
  FakeMachine machine;
  machine.MemTotalGiB(16).Write("proc/self/cgroup", "0::/app\n");

  machine.Write("sys/fs/cgroup/app/cpu.max", "150000 100000\n");  // 1.5 CPUs: round up
  EXPECT_EQ(Detect(machine).usable_cpus, 2);

  machine.Write("sys/fs/cgroup/app/cpu.max", "50000 100000\n");  // half a CPU: still 1
  EXPECT_EQ(Detect(machine).usable_cpus, 1);

  machine.Write("sys/fs/cgroup/app/cpu.max", "max 100000\n");
  EXPECT_EQ(Detect(machine).usable_cpus, 8);

  machine.Write("sys/fs/cgroup/app/cpu.max", "3200000 100000\n");  // 32 CPUs, only 8 allowed
  EXPECT_EQ(Detect(machine).usable_cpus, 8);
}

TEST(SystemProfileDetectTest, CpuMaxTakesTheLowestQuotaOnThePath) {
  FakeMachine machine;
  machine.MemTotalGiB(16)
      .Write("proc/self/cgroup", "0::/outer/inner\n")
      .Write("sys/fs/cgroup/outer/cpu.max", "300000 100000\n")
      .Write("sys/fs/cgroup/outer/inner/cpu.max", "max 100000\n");

  EXPECT_EQ(Detect(machine).usable_cpus, 3);
}

TEST(SystemProfileDetectTest, CpuMaxCapsTheRealAffinityMask) {
  FakeMachine machine;
  machine.MemTotalGiB(16)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/cpu.max", "100000 100000\n");
  SystemProbe probe = machine.Probe();
  probe.affinity_cpus = nullptr;  // sched_getaffinity(): at least one CPU

  EXPECT_EQ(SystemProfile::Detect(probe).value().usable_cpus, 1);
}

TEST(SystemProfileDetectTest, RoleDefaultsToWorkstation) {
  FakeMachine machine;
  machine.MemTotalGiB(16);
  EXPECT_EQ(Detect(machine).role, SystemRole::kWorkstation);

  machine.env["ZONEALLOC_ROLE"] = "";  // set but empty: as if unset
  EXPECT_EQ(Detect(machine).role, SystemRole::kWorkstation);

  machine.env["ZONEALLOC_ROLE"] = "  ";  // blank too
  EXPECT_EQ(Detect(machine).role, SystemRole::kWorkstation);
}

TEST(SystemProfileDetectTest, RoleFromEnvironment) {
  FakeMachine machine;
  machine.MemTotalGiB(16);
  machine.env["ZONEALLOC_ROLE"] = "Server";

  EXPECT_EQ(Detect(machine).role, SystemRole::kServer);
}

TEST(SystemProfileDetectTest, RoleOptionOverridesEnvironment) {
  FakeMachine machine;
  machine.MemTotalGiB(16);
  machine.env["ZONEALLOC_ROLE"] = "bogus";  // not even read
  SystemProbe probe = machine.Probe();
  probe.role = SystemRole::kServer;

  EXPECT_EQ(SystemProfile::Detect(probe).value().role, SystemRole::kServer);
}

// An unknown role costs only the role: memory, CPUs and the cgroup limit
// are still detected, and stderr says what was ignored.
TEST(SystemProfileDetectTest, BadRoleInEnvironmentIsIgnoredWithAWarning) {
  FakeMachine machine;
  machine.MemTotalGiB(64)
      .Write("proc/self/cgroup", "0::/app\n")
      .Write("sys/fs/cgroup/app/memory.max", "2147483648\n")
      .Write("sys/fs/cgroup/app/cpu.max", "300000 100000\n");
  machine.env["ZONEALLOC_ROLE"] = "mainframe";
  internal::ResetEnvWarningsForTesting();

  ::testing::internal::CaptureStderr();
  absl::StatusOr<SystemProfile> profile = SystemProfile::Detect(machine.Probe());
  const std::string warning = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(profile->role, SystemRole::kWorkstation);
  EXPECT_EQ(profile->physical_memory_bytes, 64 * kGiB);
  EXPECT_EQ(profile->cgroup_memory_limit_bytes, 2 * kGiB);
  EXPECT_EQ(profile->usable_cpus, 3);
  EXPECT_EQ(warning,
            "zonealloc: ignoring ZONEALLOC_ROLE=\"mainframe\": not a system role (use server or "
            "workstation); using workstation\n");
}

TEST(SystemProfileDetectTest, RoleInEnvironmentIsTrimmed) {
  FakeMachine machine;
  machine.MemTotalGiB(16);
  machine.env["ZONEALLOC_ROLE"] = " SERVER\n";

  EXPECT_EQ(Detect(machine).role, SystemRole::kServer);
}

TEST(SystemProfileDetectTest, RoleFromProcessEnvironmentWithoutGetenvHook) {
  FakeMachine machine;
  machine.MemTotalGiB(16);
  SystemProbe probe = machine.Probe();
  probe.getenv = nullptr;  // ::getenv
  internal::ScopedEnv role("ZONEALLOC_ROLE", "server");

  EXPECT_EQ(SystemProfile::Detect(probe).value().role, SystemRole::kServer);
}

// The live machine: only what holds everywhere.
TEST(SystemProfileCurrentTest, IsDetectedOnceAndSelfConsistent) {
  const SystemProfile& current = SystemProfile::Current();
  EXPECT_EQ(&current, &SystemProfile::Current());
  EXPECT_GE(current.usable_cpus, 1);
  EXPECT_GT(current.physical_memory_bytes, 0u);
  EXPECT_LE(current.usable_memory_bytes(), current.physical_memory_bytes);
  EXPECT_FALSE(current.DebugString().empty());
}

}  // namespace
}  // namespace zonealloc
