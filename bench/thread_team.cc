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
#include <thread>

namespace zonealloc::bench {

RunControl::RunControl(int threads) : end_times_(threads) {}

void RunControl::ArriveAndWaitForStart() {
  // release/acquire: start_time_ is written by the starter before started_.
  arrived_->fetch_add(1, std::memory_order_release);
  while (!started_->load(std::memory_order_acquire)) std::this_thread::yield();
}

void RunControl::MarkTimedEnd(int thread) { end_times_[thread] = Clock::now(); }

namespace {

[[noreturn]] void DieOnFailedCall(const char* call, int cpu, int error) {
  std::fprintf(stderr, "zonealloc_bench: %s (cpu %d) failed: %s\n", call, cpu,
               std::strerror(error));
  std::abort();
}

void PinThisThreadTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    DieOnFailedCall("sched_setaffinity", cpu, errno);
  }
}

}  // namespace

std::vector<int> DealCpus(std::span<const int> turns) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    DieOnFailedCall("sched_getaffinity", -1, errno);
  }
  std::vector<int> allowed;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
  }
  std::vector<int> cpus;
  cpus.reserve(turns.size());
  for (int turn : turns) cpus.push_back(allowed[static_cast<size_t>(turn) % allowed.size()]);
  return cpus;
}

absl::Duration RunTeam(int threads, absl::Duration duration, std::span<const int> cpus,
                       absl::FunctionRef<void(int, RunControl&)> body) {
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
