// SPDX-License-Identifier: Apache-2.0
// Resident memory of this process, read from /proc: how much memory an
// allocator really holds, which its own statistics may not say. The current
// RSS comes from /proc/self/statm (one short read, cheap enough to sample
// every few milliseconds), the peak from VmHWM in /proc/self/status.
//
// RssSampler records the RSS over time on a thread of its own, for the
// `burst` scenario's RSS-over-time plot, and with it what a zonealloc zone
// says of its full-zone rules: capacity, overflow and extensions.

#ifndef ZONEALLOC_BENCH_RSS_H_
#define ZONEALLOC_BENCH_RSS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace zonealloc::bench {

// Bytes resident now, from /proc/self/statm; nullopt when it cannot be read.
std::optional<uint64_t> ReadCurrentRssBytes();

// The most bytes ever resident in this process (VmHWM in /proc/self/status);
// nullopt when it cannot be read.
std::optional<uint64_t> ReadPeakRssBytes();

namespace internal {

// The parsers behind Read*RssBytes(), for tests: resident bytes from the
// text of /proc/self/statm, and VmHWM in bytes from /proc/self/status.
// nullopt when the text does not hold the figure.
std::optional<uint64_t> ResidentBytesFromStatm(std::string_view statm, uint64_t page_size);
std::optional<uint64_t> PeakBytesFromStatus(std::string_view status);

}  // namespace internal

// A zone's counters at one instant (see zonealloc::ZoneStats).
struct ZoneCounters {
  int64_t capacity_blocks = 0;
  int64_t overflow_blocks_in_use = 0;
  int64_t overflow_allocations = 0;  // ever, so bursts between samples show
  int64_t overflow_slabs_live = 0;
  int64_t extensions = 0;
  int64_t slow_path_entries = 0;  // ever
  int64_t cache_drains = 0;       // ever

  // Adds `other`'s counts: the sum over an allocator's zones.
  void Add(const ZoneCounters& other);
};

struct RssSample {
  double ms = 0;       // since the sampler started
  uint64_t bytes = 0;  // resident bytes then
  std::optional<ZoneCounters> zone;  // when the allocator is a zone
};

class RssSampler {
 public:
  using ZoneProbe = std::function<std::optional<ZoneCounters>()>;

  // Takes a sample at once and then every `interval` until Stop(); `probe`,
  // if set, is asked for the zone's counters with each sample. A sample
  // whose RSS cannot be read is left out rather than recorded as 0.
  explicit RssSampler(absl::Duration interval, ZoneProbe probe = nullptr);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  // Takes a last sample, stops the thread and returns all samples.
  std::vector<RssSample> Stop();

 private:
  void Loop(absl::Duration interval);
  std::optional<RssSample> Sample() const;  // nullopt when the RSS is unreadable
  void AddSample();

  absl::Time start_;
  ZoneProbe probe_;
  std::atomic<bool> stop_{false};
  std::vector<RssSample> samples_;  // written by the sampling thread until joined
  std::thread thread_;
};

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_RSS_H_
