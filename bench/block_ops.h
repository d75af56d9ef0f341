// SPDX-License-Identifier: Apache-2.0
// BlockOps is one scenario thread's way to allocate and free blocks. Around
// each Allocate() and Free() it does the work every scenario shares, so that
// a broken allocator cannot post a fast time:
//
//  - it stamps each block it allocates with a number unique to the run and
//    checks the stamp when the block is freed: a block handed out twice, or
//    overwritten while live, shows up as a corrupted block;
//  - it counts allocations, frees and failed allocations (nullptr);
//  - it times every kSamplePeriod-th allocation, and then the free of that
//    same block, whichever thread frees it: the sum is one latency sample.
//
// The stamp and the allocation's time travel in the block's first 16 bytes
// (BlockHeader), which is why blocks are at least 16 bytes and why a block
// freed on another thread still yields an exact allocate+free sample.
//
// A BlockOps belongs to one thread; the tallies of all threads are added up
// after the run.

#ifndef ZONEALLOC_BENCH_BLOCK_OPS_H_
#define ZONEALLOC_BENCH_BLOCK_OPS_H_

#include <cstdint>
#include <cstring>

#include "absl/base/optimization.h"
#include "bench/allocator_under_test.h"
#include "bench/latency_sampler.h"
#include "bench/tick_clock.h"

namespace zonealloc::bench {

// A block the scenario holds, with the stamp it was given.
struct LiveBlock {
  void* block = nullptr;
  uint64_t stamp = 0;

  bool empty() const { return block == nullptr; }
};

// Counts for the self-check; added up over threads.
struct BlockTally {
  int64_t allocations = 0;         // blocks handed out
  int64_t frees = 0;               // blocks given back
  int64_t failed_allocations = 0;  // Allocate() returned nullptr
  int64_t corrupted_blocks = 0;    // stamp changed while the block was live

  void Add(const BlockTally& other);
};

// Smallest block size a scenario may use: room for BlockHeader.
inline constexpr size_t kMinBenchBlockSize = 16;

class BlockOps {
 public:
  // One allocation in kSamplePeriod is timed (a prime, so it does not beat
  // with batch sizes).
  static constexpr uint32_t kSamplePeriod = 127;

  // `thread_index` makes the stamps unique across threads.
  BlockOps(int thread_index, const TickClock& clock);

  // A fresh, stamped block, or an empty LiveBlock when the allocator failed.
  LiveBlock Allocate(BlockSource& source) {
    void* block;
    uint64_t alloc_ticks = kNotSampled;
    if (ABSL_PREDICT_FALSE(--sample_countdown_ == 0)) {
      sample_countdown_ = kSamplePeriod;
      const uint64_t start = TickClock::Now();
      block = source.Allocate();
      alloc_ticks = clock_.Elapsed(start, TickClock::Now());
    } else {
      block = source.Allocate();
    }
    if (ABSL_PREDICT_FALSE(block == nullptr)) {
      ++tally_.failed_allocations;
      return {};
    }
    ++tally_.allocations;
    const LiveBlock live{block, ++last_stamp_};
    const BlockHeader header{live.stamp, alloc_ticks};
    std::memcpy(block, &header, sizeof(header));
    return live;
  }

  // Checks the block's stamp and frees it. Does nothing for an empty block.
  void Free(BlockSource& source, const LiveBlock& live) {
    if (live.empty()) return;
    BlockHeader header;
    std::memcpy(&header, live.block, sizeof(header));
    if (ABSL_PREDICT_FALSE(header.stamp != live.stamp)) ++tally_.corrupted_blocks;
    if (ABSL_PREDICT_FALSE(header.alloc_ticks != kNotSampled)) {
      const uint64_t start = TickClock::Now();
      source.Free(live.block);
      latency_.Record(header.alloc_ticks + clock_.Elapsed(start, TickClock::Now()));
    } else {
      source.Free(live.block);
    }
    ++tally_.frees;
  }

  const BlockTally& tally() const { return tally_; }
  const LatencySampler& latency() const { return latency_; }

 private:
  struct BlockHeader {
    uint64_t stamp;
    uint64_t alloc_ticks;  // kNotSampled unless this allocation was timed
  };
  static_assert(sizeof(BlockHeader) == kMinBenchBlockSize);
  static constexpr uint64_t kNotSampled = UINT64_MAX;

  const TickClock& clock_;
  uint64_t last_stamp_;  // thread index in the top 16 bits, a count below
  uint32_t sample_countdown_ = kSamplePeriod;
  BlockTally tally_;
  LatencySampler latency_;
};

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_BLOCK_OPS_H_
