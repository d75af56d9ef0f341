// SPDX-License-Identifier: Apache-2.0
// LatencySampler keeps a bounded, evenly spread subset of one thread's
// latency samples, and SummarizeLatency turns the samples of all threads
// into percentiles.
//
// Why bounded and thinned rather than "every Nth sample": the number of
// operations depends on the allocator's speed, so a fixed N would give a fast
// allocator thousands of times more samples than a slow one, or overflow.
// Instead, when the buffer is full it drops every other sample and from then
// on keeps one sample in twice as many. A short run and a long run both end
// with samples spread over their whole length, in at most `capacity` words,
// allocated up front (no allocation while the scenario runs).

#ifndef ZONEALLOC_BENCH_LATENCY_SAMPLER_H_
#define ZONEALLOC_BENCH_LATENCY_SAMPLER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace zonealloc::bench {

class LatencySampler {
 public:
  static constexpr size_t kDefaultCapacity = size_t{1} << 15;

  explicit LatencySampler(size_t capacity = kDefaultCapacity);

  // Offers one sample (in ticks); kept when it falls on the current stride.
  void Record(uint64_t ticks) {
    if (++offered_since_kept_ < stride_) return;
    offered_since_kept_ = 0;
    if (samples_.size() == capacity_) Thin();
    samples_.push_back(ticks);
  }

  std::span<const uint64_t> samples() const { return samples_; }

  // Samples offered per sample kept: 1, doubled by each thinning.
  uint64_t stride() const { return stride_; }

 private:
  // Drops every other kept sample and doubles the stride.
  void Thin();

  std::vector<uint64_t> samples_;
  size_t capacity_;
  uint64_t stride_ = 1;
  uint64_t offered_since_kept_ = 0;
};

// Appends the samples of all `samplers` (one per thread) to `merged`, each
// sampler's first thinned to the largest stride among them, so that every
// merged sample stands for the same number of operations and a thread weighs
// in the percentiles by its op count. Merged as kept, a thread that ran a
// tenth of the ops would bring as many samples as the busiest one: in an
// oversubscribed run the slow threads would be over-represented in p99.
void MergeSamples(std::span<const LatencySampler* const> samplers, std::vector<uint64_t>& merged);

struct LatencySummary {
  double p50_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  size_t samples = 0;
};

// Nearest-rank percentiles of `ticks` (taken by value: it is sorted),
// converted to nanoseconds. All zero when there are no samples.
LatencySummary SummarizeLatency(std::vector<uint64_t> ticks, double nanos_per_tick);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_LATENCY_SAMPLER_H_
