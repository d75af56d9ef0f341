// SPDX-License-Identifier: Apache-2.0
// fork() while other threads allocate: the child must find every zone
// usable, as it finds malloc. Before the fork handlers, the child inherited
// a slow-path or per-CPU lock held by a thread that does not exist there and
// hung in most forks.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

// What a forked child does with the parent's zones; its exit status is 0
// when everything worked. Runs no gtest code: the child is single-threaded
// and only _exits.
int UseZonesInChild(Zone& busy, ZoneService& service) {
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) {  // past the free blocks: overflow, extension
    void* block = busy.Allocate();
    if (block == nullptr) return 1;
    blocks.push_back(block);
  }
  for (void* block : blocks) busy.Free(block);
  busy.Drain();
  if (busy.Stats().capacity_blocks == 0) return 2;
  if (service.DumpText().find("busy") == std::string::npos) return 3;
  auto fresh = service.CreateZone({.name = "child", .block_size = 64, .initial_blocks = 64});
  if (!fresh.ok()) return 4;
  void* block = (*fresh)->Allocate();
  if (block == nullptr) return 5;
  (*fresh)->Free(block);
  return 0;
}

TEST(ZoneForkTest, ChildrenForkedWhileThreadsAllocateCanUseEveryZone) {
  auto service = *ZoneService::Create({.name = "fork", .permanent_budget_bytes = 64 << 20});
  // Small, so the threads keep reaching the slow path, overflow and drains.
  auto busy = *service->CreateZone({.name = "busy", .block_size = 64, .initial_blocks = 256});
  // The threads call no malloc while the children are forked: `held` is
  // reserved, Allocate(), Free() and Drain() never call the heap (see
  // zone_no_heap_test), and Stats() is left out for its strings. A child
  // forked while another thread is inside malloc can hang in its own first
  // malloc under AddressSanitizer, whose allocator (GCC 12's) takes no locks
  // around fork() as glibc's does; that hang would be the sanitizer's, not
  // the zones'. Drain() still takes the slow-path lock on every round.
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::vector<void*> held;
      held.reserve(64);
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 64; ++i) held.push_back(busy->Allocate());
        for (void* block : held) busy->Free(block);
        held.clear();
        busy->Drain();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // extensions settle
  int hung = 0, failed = 0;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(UseZonesInChild(*busy, *service));
    const int status = internal::WaitOrKill(child, std::chrono::seconds(20));
    hung += status == internal::kWaitTimedOut;
    failed += status != 0 && status != internal::kWaitTimedOut;
  }
  stop = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(hung, 0) << "children that hung";
  EXPECT_EQ(failed, 0) << "children whose zones did not work";
  busy->Drain();
  EXPECT_EQ(busy->Stats().in_use_blocks, 0u);
}

// The child's copy of a zone keeps the parent's allocations: blocks a
// thread of the parent holds (a thread the child does not have) are not
// handed out again there, and every other block is.
TEST(ZoneForkTest, BlocksHeldByTheParentsOtherThreadsStayAllocatedInTheChild) {
  auto service = *ZoneService::Create({.name = "fork", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone({.name = "held", .block_size = 64, .initial_blocks = 256});
  std::vector<void*> held;
  std::atomic<bool> holding{false};
  std::atomic<bool> forked{false};
  std::thread holder([&] {
    for (int i = 0; i < 100; ++i) held.push_back(zone->Allocate());
    holding.store(true, std::memory_order_release);  // publishes `held`
    while (!forked.load()) std::this_thread::yield();
    for (void* block : held) zone->Free(block);
  });
  // acquire: pairs with the holder's release.
  while (!holding.load(std::memory_order_acquire)) std::this_thread::yield();
  const pid_t child = fork();
  if (child == 0) {
    const std::set<void*> free_blocks = internal::TakeEveryFreeBlock(*zone);
    int status = free_blocks.size() == 256 - held.size() ? 0 : 1;
    for (void* block : held) status |= free_blocks.count(block) != 0 ? 2 : 0;
    _exit(status);
  }
  forked.store(true);
  holder.join();
  ASSERT_GT(child, 0);
  EXPECT_EQ(internal::WaitOrKill(child, std::chrono::seconds(20)), 0)
      << "1: the child found another number of free blocks; 2: it handed out a held one";
}

}  // namespace
}  // namespace zonealloc
