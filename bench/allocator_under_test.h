// SPDX-License-Identifier: Apache-2.0
// AllocatorUnderTest is what a scenario allocates from: for each block size
// the scenario uses, a BlockSource with Allocate() and Free(void*). It hides
// whether the blocks come from a zonealloc zone, malloc (glibc, or jemalloc,
// tcmalloc, mimalloc or tbbmalloc when the worker runs under LD_PRELOAD), a
// TBB memory pool or a std::pmr pool, so each scenario is written once.
//
//   std::vector<BlockDemand> demand = {{.block_size = 64, .max_live_blocks = 4096}};
//   absl::StatusOr<std::unique_ptr<AllocatorUnderTest>> allocator =
//       CreateAllocatorUnderTest("zone", demand);
//   BlockSource& blocks = (*allocator)->ForSize(64);
//   void* block = blocks.Allocate();   // nullptr: the allocator failed
//   blocks.Free(block);
//
// Every allocator is reached through one well-predicted virtual call per
// Allocate() or Free(). Behind it the malloc peers (MallocSource) and
// tbb_pool also jump through the PLT into their shared library, as any
// program calling malloc does; the std::pmr pools make a second virtual call
// (do_allocate); the zones, linked in, a direct call. None is tuned.
//
// Pool-style allocators (zone, unsync, tbb_pool, pmr_*) get one instance per
// block size, as a program would keep one pool per object type.

#ifndef ZONEALLOC_BENCH_ALLOCATOR_UNDER_TEST_H_
#define ZONEALLOC_BENCH_ALLOCATOR_UNDER_TEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/rss.h"

namespace zonealloc::bench {

// Blocks of one size from one allocator.
class BlockSource {
 public:
  virtual ~BlockSource() = default;

  // A block of at least the source's size, or nullptr on failure.
  virtual void* Allocate() = 0;
  // REQUIRES: block came from this source's Allocate() and is not yet freed.
  virtual void Free(void* block) = 0;

  // Blocks the allocator itself counts as handed out, when it keeps such a
  // count (zonealloc zones do); the scenarios' self-check compares it with
  // their own. nullopt when the allocator cannot tell.
  virtual std::optional<int64_t> InUseBlocks() const { return std::nullopt; }

  // A Zone's capacity, overflow, extension and slow-path counters; nullopt
  // for others (UnsynchronizedZone keeps none of them).
  virtual std::optional<ZoneCounters> Counters() const { return std::nullopt; }
};

// One block size a scenario uses, and the most blocks of it alive at once.
struct BlockDemand {
  size_t block_size = 0;
  size_t max_live_blocks = 0;
};

class AllocatorUnderTest {
 public:
  struct SizedSource {
    size_t block_size;
    std::unique_ptr<BlockSource> source;
  };

  // Tests build allocators from their own sources (a broken one, say).
  AllocatorUnderTest(std::string name, bool thread_safe, std::vector<SizedSource> sources);

  const std::string& name() const { return name_; }

  // False for allocators one thread at a time may use (unsync, pmr_unsync).
  bool thread_safe() const { return thread_safe_; }

  // REQUIRES: block_size was one of the demanded sizes.
  BlockSource& ForSize(size_t block_size);

  // The sum of the sources' InUseBlocks(), or nullopt when any cannot tell.
  std::optional<int64_t> InUseBlocks() const;

  // The sum of the sources' Counters(), or nullopt when any has none.
  std::optional<ZoneCounters> SummedZoneCounters() const;

 private:
  std::string name_;
  bool thread_safe_;
  std::vector<SizedSource> sources_;
};

// What CreateAllocatorUnderTest accepts as a name.
struct AllocatorKind {
  std::string_view name;
  std::string_view summary;
  bool thread_safe;
};
std::span<const AllocatorKind> AllAllocatorKinds();

// The allocator called `name` (see AllAllocatorKinds()) with one source per
// demanded size. InvalidArgument for an unknown name; a zone's creation
// error otherwise.
absl::StatusOr<std::unique_ptr<AllocatorUnderTest>> CreateAllocatorUnderTest(
    std::string_view name, std::span<const BlockDemand> demand);

// The initial_blocks a zonealloc zone of `kind` is created with for a
// scenario that keeps up to `max_live_blocks` alive (0: the default size).
// The one place that decides how the benchmark sizes zones.
enum class ZoneKind { kInterlocked, kUnsynchronized };
size_t ZoneInitialBlocks(ZoneKind kind, size_t max_live_blocks);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_ALLOCATOR_UNDER_TEST_H_
