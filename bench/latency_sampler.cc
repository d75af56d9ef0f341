// SPDX-License-Identifier: Apache-2.0
#include "bench/latency_sampler.h"

#include <algorithm>
#include <cmath>

namespace zonealloc::bench {
namespace {

// The p-th quantile (0 < p <= 1) of sorted, non-empty `sorted` by the
// nearest-rank rule: the smallest sample with at least p of all at or below it.
uint64_t NearestRank(const std::vector<uint64_t>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

LatencySampler::LatencySampler(size_t capacity) : capacity_(std::max<size_t>(capacity, 2)) {
  samples_.reserve(capacity_);
}

void LatencySampler::Thin() {
  size_t kept = 0;
  for (size_t i = 0; i < samples_.size(); i += 2) samples_[kept++] = samples_[i];
  samples_.resize(kept);
  stride_ *= 2;
}

void MergeSamples(std::span<const LatencySampler* const> samplers, std::vector<uint64_t>& merged) {
  uint64_t widest = 1;
  for (const LatencySampler* sampler : samplers) widest = std::max(widest, sampler->stride());
  for (const LatencySampler* sampler : samplers) {
    // Strides are powers of two: keep one in `step`, as Thin() would.
    const uint64_t step = widest / sampler->stride();
    const std::span<const uint64_t> samples = sampler->samples();
    for (size_t i = 0; i < samples.size(); i += step) merged.push_back(samples[i]);
  }
}

LatencySummary SummarizeLatency(std::vector<uint64_t> ticks, double nanos_per_tick) {
  LatencySummary summary;
  summary.samples = ticks.size();
  if (ticks.empty()) return summary;
  std::sort(ticks.begin(), ticks.end());
  auto nanos = [&](double p) {
    return static_cast<double>(NearestRank(ticks, p)) * nanos_per_tick;
  };
  summary.p50_ns = nanos(0.50);
  summary.p99_ns = nanos(0.99);
  summary.p999_ns = nanos(0.999);
  return summary;
}

}  // namespace zonealloc::bench
