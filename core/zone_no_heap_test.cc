// SPDX-License-Identifier: Apache-2.0
// A zone's Allocate(), Free(), their bulk forms, IsFull(), Owns() and Drain()
// never call operator new, their slow path (overflow, its slabs' release,
// extension) and its misuse crashes included: they run on the zone's own
// memory. The slow path holds the zone's slow-path lock, so a program whose
// operator new serves small objects from a zone would otherwise re-enter
// the zone there and wait on a lock its own thread holds; and a child
// forked while another thread was in malloc may find malloc's lock held,
// under an allocator that takes no lock around fork() (GCC 12's
// AddressSanitizer).
//
// This program replaces the global operator new: it counts the calls each
// thread makes while it counts, aborts where a test forbids it, and serves
// small objects from a zone where a test says so.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace {

thread_local bool counting = false;
thread_local size_t news_counted = 0;
thread_local bool forbidden = false;
// When set, news of up to its block size are its blocks. Set only in a
// forked child, which has one thread.
zonealloc::Zone* served_by = nullptr;

}  // namespace

// Out of line, as the deletes below, so GCC does not see a pointer from
// malloc reach operator delete, or one from operator new reach free().
[[gnu::noinline]] void* operator new(size_t bytes) {
  if (counting) ++news_counted;
  if (forbidden) {
    constexpr char kMessage[] = "operator new called where it is forbidden\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    std::abort();
  }
  void* p = served_by != nullptr && bytes <= served_by->block_size()
                ? served_by->Allocate()
                : std::malloc(std::max<size_t>(bytes, 1));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  if (served_by != nullptr && served_by->Owns(p)) return served_by->Free(p);
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { ::operator delete(p); }

namespace zonealloc {
namespace {

// Counts the operator new calls of the calling thread in its scope.
class CountNews {
 public:
  CountNews() {
    news_counted = 0;
    counting = true;
  }
  ~CountNews() { counting = false; }
  size_t count() const { return news_counted; }
};

// Any operator new call in its scope aborts, saying so.
class ForbidNews {
 public:
  ForbidNews() { forbidden = true; }
  ~ForbidNews() { forbidden = false; }
};

class ZoneNoHeapTest : public ::testing::Test {
 protected:
  Zone& MakeZone(ZoneOptions options) {
    service_ = *ZoneService::Create({.name = "no-heap", .permanent_budget_bytes = 1 << 30});
    zone_ = *service_->CreateZone(options);
    return *zone_;
  }

  // Allocates `n` blocks into `blocks` (reserved by the caller), then frees
  // them in a shuffled order. False when an allocation failed.
  static bool AllocateAndFree(Zone& zone, std::vector<void*>& blocks, size_t n, int seed) {
    for (size_t i = 0; i < n; ++i) {
      blocks.push_back(zone.Allocate());
      if (blocks.back() == nullptr) return false;
    }
    std::shuffle(blocks.begin(), blocks.end(), std::mt19937(seed));
    for (void* block : blocks) zone.Free(block);
    blocks.clear();
    return true;
  }

  std::unique_ptr<ZoneService> service_;
  std::unique_ptr<Zone> zone_;
};

TEST_F(ZoneNoHeapTest, OverflowAcrossManySlabsAndItsReleaseCallNoOperatorNew) {
  // Never extends, so every block past the first 64 is overflow, in slabs
  // that double up to the cap: about 13 live at once, 40 over the rounds.
  Zone& zone = MakeZone({.name = "overflowing",
                         .block_size = 256,
                         .initial_blocks = 64,
                         .max_blocks = 64,
                         .overflow_slab_blocks = 1});
  std::vector<void*> blocks;
  blocks.reserve(40'000);
  int stranger = 0;
  size_t counted = 0;
  {
    CountNews news;
    for (int round = 0; round < 3; ++round) {
      ASSERT_TRUE(AllocateAndFree(zone, blocks, 40'000, round)) << "round " << round;
      EXPECT_FALSE(zone.Owns(&stranger));
      zone.Drain();
    }
    counted = news.count();
  }
  const ZoneStats stats = zone.Stats();
  EXPECT_GT(stats.overflow_slabs_created, 20u);
  EXPECT_EQ(stats.overflow_slabs_live, 0u);
  EXPECT_EQ(counted, 0u);
}

TEST_F(ZoneNoHeapTest, ExtensionsOwnsAndBulkCallsCallNoOperatorNew) {
  Zone& zone = MakeZone({.name = "extending",
                         .block_size = 64,
                         .initial_blocks = 64,
                         .max_blocks = 1 << 20,
                         .overflow_slab_blocks = 1});
  std::vector<void*> blocks;
  blocks.reserve((1 << 20) + 1000);  // max_blocks and a bulk call's overflow
  int full_seen = 0;
  bool owns_all = true;
  size_t counted = 0;
  {
    CountNews news;
    for (int i = 0; i < 100'000; ++i) {
      full_seen += zone.IsFull();
      blocks.push_back(zone.Allocate());
      ASSERT_NE(blocks.back(), nullptr);
    }
    for (void* block : blocks) owns_all = owns_all && zone.Owns(block);
    for (void* block : blocks) zone.Free(block);
    zone.Drain();
    counted += news.count();
  }
  // In bulk, past the zone's capacity into overflow again.
  blocks.resize(zone.Stats().capacity_blocks + 1000);
  size_t bulk_filled = 0;
  {
    CountNews news;
    bulk_filled = zone.AllocateBulk(blocks);
    zone.FreeBulk(blocks);
    counted += news.count();
  }
  EXPECT_EQ(bulk_filled, blocks.size());
  EXPECT_TRUE(owns_all);
  EXPECT_GT(full_seen, 0);
  EXPECT_GT(zone.Stats().extensions, 0u);
  EXPECT_GT(zone.Stats().overflow_allocations, 0u);
  EXPECT_EQ(counted, 0u);
}

using ZoneNoHeapDeathTest = ZoneNoHeapTest;

// Misuse found under the slow-path lock crashes with its message, formatted
// on the stack: with the heap called there, an operator new served by the
// zone would wait on that lock, and the crash would be a hang.
TEST_F(ZoneNoHeapDeathTest, MisuseUnderTheSlowPathLockCrashesWithoutOperatorNew) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Zone& zone = MakeZone(
      {.name = "misused", .block_size = 64, .initial_blocks = 64, .max_blocks = 64});
  int stranger = 0;
  EXPECT_DEATH(
      {
        ForbidNews forbid;
        zone.Free(&stranger);
      },
      "Free\\(.*\\) of a pointer this zone does not own");

  // Two overflow blocks, so that freeing the first leaves its slab live.
  const std::set<void*> held = internal::TakeEveryFreeBlock(zone);
  char* const permanent = static_cast<char*>(*held.begin());
  EXPECT_DEATH(
      {
        ForbidNews forbid;
        zone.Free(permanent + 8);
      },
      "is not the start of a committed block");
  void* first = zone.Allocate();
  void* second = zone.Allocate();
  ASSERT_EQ(zone.Stats().overflow_blocks_in_use, 2u);
  zone.Free(first);
  EXPECT_DEATH(
      {
        ForbidNews forbid;
        zone.Free(first);
      },
      "overflow slab of 'zonealloc-overflow:misused': a block freed twice");
  zone.Free(second);
  for (void* block : held) zone.Free(block);
}

// The case all this is for: a program whose operator new serves small
// objects from a zone. With the zone full, every such new takes the slow
// path and its lock, so a new the zone made under that lock would wait for
// it forever. In a forked child, so that a hang fails the test.
TEST_F(ZoneNoHeapTest, AnOperatorNewServedByAFullZoneNeverWaitsOnThatZone) {
  Zone& zone = MakeZone(
      {.name = "serving", .block_size = 64, .initial_blocks = 64, .max_blocks = 64});
  const std::set<void*> held = internal::TakeEveryFreeBlock(zone);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    served_by = &zone;
    auto* blocks = new void*[1000];  // from malloc: larger than a block
    for (int i = 0; i < 1000; ++i) blocks[i] = zone.Allocate();
    // Stats() copies the tag, the mode and the caches' stats; DumpText()
    // formats strings of every size. The small ones are the zone's.
    const ZoneStats stats = zone.Stats();
    const std::string dump = service_->DumpText();
    for (int i = 0; i < 1000; ++i) zone.Free(blocks[i]);
    delete[] blocks;
    zone.Drain();
    const bool served = zone.Stats().overflow_allocations > stats.overflow_allocations;
    _exit(stats.overflow_allocations >= 1000 && served && !dump.empty() ? 0 : 1);
  }
  EXPECT_EQ(internal::WaitOrKill(child, std::chrono::seconds(30)), 0)
      << "the child hung (-1) or found the zone unused (1)";
  for (void* block : held) zone.Free(block);
}

}  // namespace
}  // namespace zonealloc
