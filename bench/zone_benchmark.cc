// Micro-benchmarks of one allocate+free pair: Zone, UnsynchronizedZone and
// malloc, on 1 and 2 threads. The scenario benchmark (README command 1) is
// the one to compare allocators with; these isolate the fast paths.
//
//   build/release/bench/zone_benchmark --benchmark_filter=Pair

#include <cstdlib>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>

namespace zonealloc {
namespace {

constexpr size_t kBlockSize = 64;

Zone& SharedZone() {
  static Zone* const zone =
      Zone::Create({.name = "bench", .block_size = kBlockSize, .initial_blocks = 1 << 16})->release();
  return *zone;
}

void BM_ZonePair(benchmark::State& state) {
  Zone& zone = SharedZone();
  for (auto _ : state) {
    void* block = zone.Allocate();
    benchmark::DoNotOptimize(block);
    zone.Free(block);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZonePair)->Threads(1)->Threads(2)->UseRealTime();

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
  Zone& zone = SharedZone();
  Batch(state, [&] { return zone.Allocate(); }, [&](void* p) { zone.Free(p); });
}
BENCHMARK(BM_ZoneBatch)->Threads(1)->Threads(2)->UseRealTime();

void BM_MallocBatch(benchmark::State& state) {
  Batch(state, [] { return std::malloc(kBlockSize); }, [](void* p) { std::free(p); });
}
BENCHMARK(BM_MallocBatch)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace zonealloc
