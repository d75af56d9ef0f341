// SPDX-License-Identifier: Apache-2.0
#include "bench/rss.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/time/clock.h"

namespace zonealloc::bench {

uint64_t CurrentRssBytes() {
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int fields = std::fscanf(statm, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(statm);
  if (fields != 2) return 0;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t PeakRssBytes() {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return 0;
  char line[256];
  uint64_t peak_kib = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
      peak_kib = kib;
      break;
    }
  }
  std::fclose(status);
  return peak_kib * 1024;
}

void ZoneCounters::Add(const ZoneCounters& other) {
  capacity_blocks += other.capacity_blocks;
  overflow_blocks_in_use += other.overflow_blocks_in_use;
  overflow_allocations += other.overflow_allocations;
  overflow_slabs_live += other.overflow_slabs_live;
  extensions += other.extensions;
  slow_path_entries += other.slow_path_entries;
  cache_drains += other.cache_drains;
}

RssSampler::RssSampler(absl::Duration interval, ZoneProbe probe)
    : start_(absl::Now()), probe_(std::move(probe)) {
  samples_.reserve(4096);
  samples_.push_back(Sample());
  thread_ = std::thread([this, interval] { Loop(interval); });
}

RssSampler::~RssSampler() {
  if (thread_.joinable()) Stop();
}

void RssSampler::Loop(absl::Duration interval) {
  // relaxed: a stop request only; join() publishes the samples.
  while (!stop_.load(std::memory_order_relaxed)) {
    absl::SleepFor(interval);
    samples_.push_back(Sample());
  }
}

std::vector<RssSample> RssSampler::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  thread_.join();
  samples_.push_back(Sample());
  return std::move(samples_);
}

RssSample RssSampler::Sample() const {
  return {.ms = absl::ToDoubleMilliseconds(absl::Now() - start_),
          .bytes = CurrentRssBytes(),
          .zone = probe_ ? probe_() : std::nullopt};
}

}  // namespace zonealloc::bench
