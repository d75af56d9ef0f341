// SPDX-License-Identifier: Apache-2.0
// A zone's Allocate(), Free(), their bulk forms, IsFull(), Owns() and Drain()
// never call the heap (operator new, malloc and its kin), their slow path
// (overflow, its slabs' release, extension) and its misuse crashes
// included: they run on the zone's own memory. The slow path holds the
// zone's slow-path lock, so a program whose operator new serves small
// objects from a zone would otherwise re-enter the zone there and wait on a
// lock its own thread holds; and a child forked while another thread was
// in malloc may find malloc's lock held, under an allocator that takes no
// lock around fork() (GCC 12's AddressSanitizer).
//
// This program replaces the global operator new (plain and aligned) and,
// on glibc where no sanitizer owns them, malloc, calloc, realloc, memalign,
// aligned_alloc, posix_memalign, valloc and pvalloc: it counts the calls
// each thread makes while it counts, aborts where a test forbids them, and
// serves small objects of operator new from a zone where a test says so.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/replaces_libc.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace {

thread_local bool counting = false;
thread_local size_t heap_calls_counted = 0;
thread_local bool forbidden = false;
// When set, news of up to its block size are its blocks. Set only in a
// forked child, which has one thread.
zonealloc::Zone* served_by = nullptr;

// Where a sanitizer's runtime defines malloc, only operator new is
// replaced (see replaces_libc.h).
constexpr bool kReplacesMalloc = ZONEALLOC_TEST_REPLACES_LIBC != 0;

// The heap calls this program replaces all come through here.
void NoteHeapCall(const char* what) {
  if (counting) ++heap_calls_counted;
  if (!forbidden) return;
  constexpr char kMessage[] = " called where the heap is forbidden\n";
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  std::abort();
}

}  // namespace

#if ZONEALLOC_TEST_REPLACES_LIBC
// glibc's own entry points, which its malloc, calloc, realloc and the
// aligned allocations are.
extern "C" void* __libc_malloc(size_t bytes);
extern "C" void* __libc_calloc(size_t count, size_t bytes);
extern "C" void* __libc_realloc(void* p, size_t bytes);
extern "C" void* __libc_memalign(size_t alignment, size_t bytes);
extern "C" void* __libc_valloc(size_t bytes);
extern "C" void* __libc_pvalloc(size_t bytes);

extern "C" {
[[gnu::noinline]] void* malloc(size_t bytes) noexcept {
  NoteHeapCall("malloc");
  return __libc_malloc(bytes);
}
[[gnu::noinline]] void* calloc(size_t count, size_t bytes) noexcept {
  NoteHeapCall("calloc");
  return __libc_calloc(count, bytes);
}
[[gnu::noinline]] void* realloc(void* p, size_t bytes) noexcept {
  NoteHeapCall("realloc");
  return __libc_realloc(p, bytes);
}
[[gnu::noinline]] void* memalign(size_t alignment, size_t bytes) noexcept {
  NoteHeapCall("memalign");
  return __libc_memalign(alignment, bytes);
}
[[gnu::noinline]] void* aligned_alloc(size_t alignment, size_t bytes) noexcept {
  NoteHeapCall("aligned_alloc");
  return __libc_memalign(alignment, bytes);
}
[[gnu::noinline]] int posix_memalign(void** out, size_t alignment, size_t bytes) noexcept {
  NoteHeapCall("posix_memalign");
  if (alignment == 0 || alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* p = __libc_memalign(alignment, bytes);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
[[gnu::noinline]] void* valloc(size_t bytes) noexcept {
  NoteHeapCall("valloc");
  return __libc_valloc(bytes);
}
[[gnu::noinline]] void* pvalloc(size_t bytes) noexcept {
  NoteHeapCall("pvalloc");
  return __libc_pvalloc(bytes);
}
}  // extern "C"

namespace {
void* HeapBytes(size_t bytes) { return __libc_malloc(bytes); }
void* AlignedHeapBytes(size_t alignment, size_t bytes) {
  return __libc_memalign(alignment, bytes);
}
}  // namespace
#else
namespace {
void* HeapBytes(size_t bytes) { return std::malloc(bytes); }
void* AlignedHeapBytes(size_t alignment, size_t bytes) {
  return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
}
}  // namespace
#endif

// Out of line, as the deletes below, so GCC does not see a pointer from
// malloc reach operator delete, or one from operator new reach free().
[[gnu::noinline]] void* operator new(size_t bytes) {
  NoteHeapCall("operator new");
  void* p = served_by != nullptr && bytes <= served_by->block_size()
                ? served_by->Allocate()
                : HeapBytes(std::max<size_t>(bytes, 1));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  if (served_by != nullptr && served_by->Owns(p)) return served_by->Free(p);
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { ::operator delete(p); }
[[gnu::noinline]] void* operator new(size_t bytes, std::align_val_t alignment) {
  NoteHeapCall("aligned operator new");
  void* p = AlignedHeapBytes(static_cast<size_t>(alignment), std::max<size_t>(bytes, 1));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace zonealloc {
namespace {

// Counts the calling thread's heap calls (operator new, and malloc and its
// kin where this program replaces them) in its scope.
class CountHeapCalls {
 public:
  CountHeapCalls() {
    heap_calls_counted = 0;
    counting = true;
  }
  ~CountHeapCalls() { counting = false; }
  size_t count() const { return heap_calls_counted; }
};

// Any heap call in its scope aborts, saying so.
class ForbidHeap {
 public:
  ForbidHeap() { forbidden = true; }
  ~ForbidHeap() { forbidden = false; }
};

// The counting itself: each kind of heap call this program replaces is
// seen. (A volatile pointer keeps the compiler from pairing a call with its
// free and dropping both.)
TEST(HeapCallCountingTest, SeesEveryKindOfHeapCallItReplaces) {
  struct alignas(64) Aligned {
    char bytes[64];
  };
  void* volatile sink = nullptr;
  size_t counted = 0;
  {
    CountHeapCalls heap_calls;
    sink = new int(1);
    delete static_cast<int*>(sink);
    sink = new Aligned;
    delete static_cast<Aligned*>(sink);
    counted = heap_calls.count();
  }
  EXPECT_EQ(counted, 2u) << "operator new, plain and aligned";
  if (!kReplacesMalloc) GTEST_SKIP() << "malloc is not replaced here (a sanitizer, or not glibc)";
  {
    CountHeapCalls heap_calls;
    sink = std::malloc(8);
    sink = std::realloc(sink, 4096);
    std::free(sink);
    sink = std::calloc(2, 8);
    std::free(sink);
    sink = std::aligned_alloc(64, 64);
    std::free(sink);
    sink = memalign(64, 64);
    std::free(sink);
    void* aligned = nullptr;
    EXPECT_EQ(posix_memalign(&aligned, 64, 64), 0);
    std::free(aligned);
    sink = valloc(64);
    std::free(sink);
    sink = pvalloc(64);
    std::free(sink);
    counted = heap_calls.count();
  }
  EXPECT_EQ(counted, 8u)
      << "malloc, realloc, calloc, aligned_alloc, memalign, posix_memalign, valloc, pvalloc";
}

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

TEST_F(ZoneNoHeapTest, OverflowAcrossManySlabsAndItsReleaseCallNoHeap) {
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
    CountHeapCalls heap_calls;
    for (int round = 0; round < 3; ++round) {
      ASSERT_TRUE(AllocateAndFree(zone, blocks, 40'000, round)) << "round " << round;
      EXPECT_FALSE(zone.Owns(&stranger));
      zone.Drain();
    }
    counted = heap_calls.count();
  }
  const ZoneStats stats = zone.Stats();
  EXPECT_GT(stats.overflow_slabs_created, 20u);
  EXPECT_EQ(stats.overflow_slabs_live, 0u);
  EXPECT_EQ(counted, 0u);
}

TEST_F(ZoneNoHeapTest, ExtensionsOwnsAndBulkCallsCallNoHeap) {
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
    CountHeapCalls heap_calls;
    for (int i = 0; i < 100'000; ++i) {
      full_seen += zone.IsFull();
      blocks.push_back(zone.Allocate());
      ASSERT_NE(blocks.back(), nullptr);
    }
    for (void* block : blocks) owns_all = owns_all && zone.Owns(block);
    for (void* block : blocks) zone.Free(block);
    zone.Drain();
    counted += heap_calls.count();
  }
  // In bulk, past the zone's capacity into overflow again.
  blocks.resize(zone.Stats().capacity_blocks + 1000);
  size_t bulk_filled = 0;
  {
    CountHeapCalls heap_calls;
    bulk_filled = zone.AllocateBulk(blocks);
    zone.FreeBulk(blocks);
    counted += heap_calls.count();
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
TEST_F(ZoneNoHeapDeathTest, MisuseUnderTheSlowPathLockCrashesWithoutTheHeap) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Zone& zone = MakeZone(
      {.name = "misused", .block_size = 64, .initial_blocks = 64, .max_blocks = 64});
  int stranger = 0;
  EXPECT_DEATH(
      {
        ForbidHeap forbid;
        zone.Free(&stranger);
      },
      "Free\\(.*\\) of a pointer this zone does not own");

  // Two overflow blocks, so that freeing the first leaves its slab live.
  const std::set<void*> held = internal::TakeEveryFreeBlock(zone);
  char* const permanent = static_cast<char*>(*held.begin());
  EXPECT_DEATH(
      {
        ForbidHeap forbid;
        zone.Free(permanent + 8);
      },
      "is not the start of a committed block");
  void* first = zone.Allocate();
  void* second = zone.Allocate();
  ASSERT_EQ(zone.Stats().overflow_blocks_in_use, 2u);
  zone.Free(first);
  EXPECT_DEATH(
      {
        ForbidHeap forbid;
        zone.Free(first);
      },
      "overflow slab of 'zonealloc-overflow:misused': a block freed twice");
  zone.Free(second);
  for (void* block : held) zone.Free(block);
}

// A debug-checked zone's own crashes (a double free, a write after free
// found when a zone or overflow block is handed out again) are formatted on
// the stack too.
TEST_F(ZoneNoHeapDeathTest, ADebugCheckedZoneCrashesWithoutTheHeap) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Zone& zone = MakeZone({.name = "checked",
                         .block_size = 64,
                         .initial_blocks = 64,
                         .max_blocks = 64,
                         .debug_checks = true});
  void* block = zone.Allocate();
  ASSERT_NE(block, nullptr);
  zone.Free(block);
  EXPECT_DEATH(
      {
        ForbidHeap forbid;
        zone.Free(block);
      },
      "zone 'checked': double free of block");
  EXPECT_DEATH(
      {
        internal::UnpoisonBlock(block, 64);  // ASan would stop the write itself
        static_cast<unsigned char*>(block)[5] = 0;  // after its free
        ForbidHeap forbid;
        // The freed block is the first handed out again.
        (void)zone.Allocate();
      },
      "block .* was written after it was freed: byte at offset 5");

  // An overflow block is verified under the slow-path lock. The zone is
  // full once every permanent block is out; its spare slab stays while it is.
  const std::set<void*> held = internal::TakeEveryFreeBlock(zone);
  auto* overflow = static_cast<unsigned char*>(zone.Allocate());
  ASSERT_EQ(zone.Stats().overflow_blocks_in_use, 1u);
  zone.Free(overflow);
  EXPECT_DEATH(
      {
        internal::UnpoisonBlock(overflow, 64);
        overflow[37] = 0;  // after its free; its first word is the slab's link
        ForbidHeap forbid;
        (void)zone.Allocate();
      },
      "block .* was written after it was freed: byte at offset 37");
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
      << "the child hung (-1), could not be waited for (-2) or found the zone unused (1)";
  for (void* block : held) zone.Free(block);
}

}  // namespace
}  // namespace zonealloc
