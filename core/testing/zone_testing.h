// SPDX-License-Identifier: Apache-2.0
// Test helpers for Zone, shared by the zone tests and the stress tests.
// core/testing/ is <zonealloc/testing/...> in the build tree only: never
// installed (cmake/ZoneallocInstall.cmake; checked by cmake/consumer_test.sh).

#ifndef ZONEALLOC_CORE_TESTING_ZONE_TESTING_H_
#define ZONEALLOC_CORE_TESTING_ZONE_TESTING_H_

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <set>

#include <zonealloc/zone.h>

namespace zonealloc::internal {

// Allocates every free permanent block, wherever it sits (the shared zone or
// any CPU's cache), and returns them; the zone is full afterwards. The caller
// frees them. IsFull() sees only the current CPU's cache and the thread may
// migrate, so a full-looking zone is drained and checked again.
inline std::set<void*> TakeEveryFreeBlock(Zone& zone) {
  std::set<void*> blocks;
  zone.Drain();
  while (true) {
    if (zone.IsFull()) {
      zone.Drain();
      if (zone.IsFull()) return blocks;
    }
    blocks.insert(zone.Allocate());
  }
}

// What WaitOrKill() returns besides an exit status or 128 + signal.
inline constexpr int kWaitTimedOut = -1;  // the child did not finish in time and was killed
inline constexpr int kWaitFailed = -2;    // waitpid() or kill() failed; printed on stderr

// Prints which call failed on `child` and why; returns kWaitFailed.
inline int ReportWaitFailure(const char* call, pid_t child) {
  std::fprintf(stderr, "WaitOrKill: %s(%d): %s\n", call, static_cast<int>(child),
               std::strerror(errno));
  return kWaitFailed;
}

// The exit status of a forked `child`, 128 + signal when it was killed,
// kWaitTimedOut when it did not finish within `limit` (it is killed then),
// or kWaitFailed when it cannot be waited for (e.g. SIGCHLD is ignored, so
// the kernel reaped it): a child that hangs, e.g. on a lock inherited from
// the parent, fails a test instead of hanging it, and an unknown status is
// never read as exit 0.
inline int WaitOrKill(pid_t child, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t waited = waitpid(child, &status, WNOHANG);
    if (waited == child) break;
    if (waited < 0) {
      if (errno == EINTR) continue;
      return ReportWaitFailure("waitpid", child);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      if (kill(child, SIGKILL) != 0) return ReportWaitFailure("kill", child);
      while (waitpid(child, &status, 0) != child) {
        if (errno != EINTR) return ReportWaitFailure("waitpid after SIGKILL", child);
      }
      return kWaitTimedOut;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Keeps the calling thread on the CPU it runs on now, for the scope: a test
// that checks IsFull() step by step must not see another CPU's cache.
class ScopedPinToCurrentCpu {
 public:
  ScopedPinToCurrentCpu() {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0 ||
        sched_setaffinity(0, sizeof(one), &one) != 0) {
      Fail("pin the thread");
    }
  }
  ~ScopedPinToCurrentCpu() {
    if (sched_setaffinity(0, sizeof(saved_), &saved_) != 0) Fail("restore the affinity");
  }
  ScopedPinToCurrentCpu(const ScopedPinToCurrentCpu&) = delete;
  ScopedPinToCurrentCpu& operator=(const ScopedPinToCurrentCpu&) = delete;

 private:
  // A test that cannot pin would check nothing: stop it, saying why.
  [[noreturn]] static void Fail(const char* what) {
    std::fprintf(stderr, "ScopedPinToCurrentCpu: cannot %s: %s\n", what, std::strerror(errno));
    std::abort();
  }

  cpu_set_t saved_;
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_ZONE_TESTING_H_
