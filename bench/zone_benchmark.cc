// SPDX-License-Identifier: Apache-2.0
// Micro-benchmarks of one allocate+free pair: Zone, UnsynchronizedZone and
// malloc, on 1 and 2 threads. The scenario benchmark (README command 1) is
// the one to compare allocators with; these isolate the fast paths.
//
//   build/release/bench/zone_benchmark --benchmark_filter=Pair

#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>

namespace zonealloc {
namespace {

constexpr size_t kBlockSize = 64;

// One shared zone per CPU cache mode (benchmark argument), made once.
Zone& SharedZone(CpuCacheMode mode) {
  static Zone* zones[4] = {};
  static std::once_flag once[4];
  const int i = static_cast<int>(mode);
  std::call_once(once[i], [&] {
    zones[i] = Zone::Create({.name = "bench", .block_size = kBlockSize,
                             .initial_blocks = 1 << 16, .cpu_cache = mode})
                   ->release();
  });
  return *zones[i];
}

void BM_ZonePair(benchmark::State& state) {
  const auto mode = static_cast<CpuCacheMode>(state.range(0));
  if (mode == CpuCacheMode::kRseq && !RseqSupport().ok()) {
    state.SkipWithError("rseq unsupported");
    return;
  }
  Zone& zone = SharedZone(mode);
  for (auto _ : state) {
    void* block = zone.Allocate();
    benchmark::DoNotOptimize(block);
    zone.Free(block);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(CpuCacheModeName(mode)));
}
BENCHMARK(BM_ZonePair)
    ->Arg(static_cast<int>(CpuCacheMode::kRseq))
    ->Arg(static_cast<int>(CpuCacheMode::kFallback))
    ->Arg(static_cast<int>(CpuCacheMode::kOff))
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_UnsynchronizedZonePair(benchmark::State& state) {
  auto zone = UnsynchronizedZone::Create({.block_size = kBlockSize, .initial_blocks = 1024});
  for (auto _ : state) {
    void* block = (*zone)->Allocate();
    benchmark::DoNotOptimize(block);
    (*zone)->Free(block);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnsynchronizedZonePair);

void BM_MallocPair(benchmark::State& state) {
  for (auto _ : state) {
    void* block = std::malloc(kBlockSize);
    benchmark::DoNotOptimize(block);
    std::free(block);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocPair)->Threads(1)->Threads(2)->UseRealTime();

// 256 allocations then 256 frees: the free list is walked, not just its top.
template <typename Alloc, typename Free>
void Batch(benchmark::State& state, Alloc alloc, Free free) {
  std::vector<void*> blocks(256);
  for (auto _ : state) {
    for (void*& block : blocks) block = alloc();
    benchmark::DoNotOptimize(blocks.data());
    for (void* block : blocks) free(block);
  }
  state.SetItemsProcessed(state.iterations() * blocks.size());
}

void BM_ZoneBatch(benchmark::State& state) {
  Zone& zone = SharedZone(CpuCacheMode::kDefault);
  Batch(state, [&] { return zone.Allocate(); }, [&](void* p) { zone.Free(p); });
}
BENCHMARK(BM_ZoneBatch)->Threads(1)->Threads(2)->UseRealTime();

// A zone held full at max_blocks: every allocation is served by overflow
// under the slow-path lock, every free returns it there. What handing
// overflow blocks out in batches could save (see bench/README.md).
void BM_ZoneOverflowPair(benchmark::State& state) {
  auto zone = *Zone::Create({.name = "full", .block_size = kBlockSize, .initial_blocks = 1024,
                             .max_blocks = 1024});
  // Every permanent block, cached ones too: the shared zone and every cache empty.
  const std::set<void*> held = internal::TakeEveryFreeBlock(*zone);
  for (auto _ : state) {
    void* block = zone->Allocate();
    benchmark::DoNotOptimize(block);
    zone->Free(block);
  }
  state.SetItemsProcessed(state.iterations());
  if (zone->Stats().overflow_allocations < static_cast<size_t>(state.iterations())) {
    state.SkipWithError("the zone was not full");
  }
  for (void* block : held) zone->Free(block);
}
BENCHMARK(BM_ZoneOverflowPair);

void BM_MallocBatch(benchmark::State& state) {
  Batch(state, [] { return std::malloc(kBlockSize); }, [](void* p) { std::free(p); });
}
BENCHMARK(BM_MallocBatch)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace zonealloc
