// SPDX-License-Identifier: Apache-2.0
#include "bench/thread_team.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace zonealloc::bench {

RunControl::RunControl(int threads) : end_times_(threads) {}

void RunControl::ArriveAndWaitForStart() {
  // release/acquire: start_time_ is written by the starter before started_.
  arrived_->fetch_add(1, std::memory_order_release);
  while (!started_->load(std::memory_order_acquire)) std::this_thread::yield();
}

void RunControl::MarkTimedEnd(int thread) { end_times_[thread] = Clock::now(); }

namespace {

[[noreturn]] void DieOnFailedCall(const std::string& call, int error) {
  std::fprintf(stderr, "zonealloc_bench: %s failed: %s\n", call.c_str(), std::strerror(error));
  std::abort();
}

void PinThisThreadTo(int cpu) {
  cpu_set_t* set = CPU_ALLOC(cpu + 1);
  if (set == nullptr) DieOnFailedCall(absl::StrCat("CPU_ALLOC(", cpu + 1, ")"), ENOMEM);
  const size_t size = CPU_ALLOC_SIZE(cpu + 1);
  CPU_ZERO_S(size, set);
  CPU_SET_S(cpu, size, set);
  const int result = sched_setaffinity(0, size, set);
  const int error = errno;
  CPU_FREE(set);
  if (result != 0) DieOnFailedCall(absl::StrCat("sched_setaffinity to CPU ", cpu), error);
}

// The CPUs the calling thread may run on, in ascending order. Grows the
// mask past the 1024 CPUs of a plain cpu_set_t on bigger machines.
std::vector<int> AllowedCpus() {
  for (int cpus = CPU_SETSIZE; cpus <= (1 << 20); cpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(cpus);
    if (set == nullptr) DieOnFailedCall(absl::StrCat("CPU_ALLOC(", cpus, ")"), ENOMEM);
    const size_t size = CPU_ALLOC_SIZE(cpus);
    if (sched_getaffinity(0, size, set) == 0) {
      std::vector<int> allowed;
      for (int cpu = 0; cpu < cpus; ++cpu) {
        if (CPU_ISSET_S(cpu, size, set)) allowed.push_back(cpu);
      }
      CPU_FREE(set);
      return allowed;
    }
    const int error = errno;
    CPU_FREE(set);
    if (error != EINVAL) DieOnFailedCall("sched_getaffinity", error);
  }
  DieOnFailedCall("sched_getaffinity", EINVAL);
}

}  // namespace

std::vector<int> DealCpus(std::span<const int> turns, std::span<const int> allowed) {
  std::vector<int> cpus;
  cpus.reserve(turns.size());
  for (int turn : turns) cpus.push_back(allowed[static_cast<size_t>(turn) % allowed.size()]);
  return cpus;
}

std::vector<int> DealCpus(std::span<const int> turns) { return DealCpus(turns, AllowedCpus()); }

absl::Duration RunTeam(int threads, absl::Duration duration, std::span<const int> cpus,
                       absl::FunctionRef<void(int, RunControl&)> body) {
  if (!cpus.empty() && cpus.size() != static_cast<size_t>(threads)) {
    std::fprintf(stderr, "zonealloc_bench: RunTeam: %zu CPUs for %d threads\n", cpus.size(),
                 threads);
    std::abort();
  }
  RunControl control(threads);
  std::vector<std::thread> team;
  team.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    team.emplace_back([&control, &body, cpus, i] {
      if (!cpus.empty()) PinThisThreadTo(cpus[i]);
      body(i, control);
    });
  }
  // acquire: pairs with the arrivals, so every thread's set-up is done.
  while (control.arrived_->load(std::memory_order_acquire) < threads) {
    std::this_thread::yield();
  }
  control.start_time_ = RunControl::Clock::now();
  control.started_->store(true, std::memory_order_release);
  if (duration != absl::InfiniteDuration()) {
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(duration));
    control.stop_->store(true, std::memory_order_relaxed);
  }
  for (std::thread& thread : team) thread.join();
  const auto end = *std::max_element(control.end_times_.begin(), control.end_times_.end());
  return absl::FromChrono(end - control.start_time_);
}

int64_t QuotaPerThread(int64_t total_ops, int threads) {
  if (total_ops <= 0) return std::numeric_limits<int64_t>::max();
  return (total_ops + threads - 1) / threads;
}

}  // namespace zonealloc::bench
