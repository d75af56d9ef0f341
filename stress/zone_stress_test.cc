// Stress: many more threads than CPUs churn one small zone through full and
// not-full, passing blocks to each other through a shared queue so most
// frees are cross-thread. Each block carries its owner's stamp and a
// sequence number; every hand-out and free is checked.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/zone.h>

namespace zonealloc {
namespace {

// Blocks in flight between threads. A plain locked deque: oneTBB's
// concurrent_queue allocates its pages in uninstrumented code, which
// ThreadSanitizer reports as races.
class Handoff {
 public:
  void push(void* block) {
    std::lock_guard<std::mutex> lock(mu_);
    blocks_.push_back(block);
  }
  bool try_pop(void*& block) {
    std::lock_guard<std::mutex> lock(mu_);
    if (blocks_.empty()) return false;
    block = blocks_.front();
    blocks_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::deque<void*> blocks_;
};

std::chrono::milliseconds StressDuration() {
  const char* ms = std::getenv("ZONEALLOC_STRESS_MS");
  return std::chrono::milliseconds(ms != nullptr ? std::atoi(ms) : 1500);
}

int StressThreads() { return 4 * static_cast<int>(std::max(2u, std::thread::hardware_concurrency())); }

// What a live block holds: who allocated it and a check word derived from it.
struct Stamp {
  uint64_t owner;
  uint64_t check;
  static Stamp For(uint64_t owner) { return {owner, ~owner * 0x9E3779B97F4A7C15ull}; }
  bool Valid() const { return check == ~owner * 0x9E3779B97F4A7C15ull; }
};

TEST(ZoneStressTest, CrossThreadChurnNeverLosesOrDuplicatesABlock) {
  constexpr size_t kBlocks = 256;  // small: the zone is full often
  absl::StatusOr<std::unique_ptr<Zone>> created =
      Zone::Create({.name = "stress", .block_size = 64, .initial_blocks = kBlocks});
  ASSERT_TRUE(created.ok());
  Zone& zone = **created;
  std::vector<std::atomic<uint8_t>> live(kBlocks);
  char* const base = static_cast<char*>(zone.Allocate());
  zone.Free(base);
  auto index_of = [&](void* p) { return (static_cast<char*>(p) - base) / zone.block_size(); };

  Handoff handoff;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0}, allocations{0}, full_seen{0};

  auto worker = [&](int id) {
    std::minstd_rand rng(id);
    std::vector<void*> held;
    uint64_t serial = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const int burst = 1 + static_cast<int>(rng() % 16);
      for (int i = 0; i < burst; ++i) {
        if (zone.IsFull()) full_seen.fetch_add(1, std::memory_order_relaxed);
        void* block = zone.Allocate();
        if (block == nullptr) break;
        if (live[index_of(block)].exchange(1) != 0) errors.fetch_add(1);
        const Stamp stamp = Stamp::For((uint64_t{static_cast<uint32_t>(id)} << 32) | serial++);
        std::memcpy(block, &stamp, sizeof(stamp));
        held.push_back(block);
        allocations.fetch_add(1, std::memory_order_relaxed);
      }
      // Pass roughly half to whoever comes next; free the rest here.
      for (void* block : held) {
        if (rng() % 2 == 0) {
          handoff.push(block);
          continue;
        }
        Stamp stamp;
        std::memcpy(&stamp, block, sizeof(stamp));
        if (!stamp.Valid()) errors.fetch_add(1);
        if (live[index_of(block)].exchange(0) != 1) errors.fetch_add(1);
        zone.Free(block);
      }
      held.clear();
      void* block = nullptr;
      for (int i = 0; i < 16 && handoff.try_pop(block); ++i) {
        Stamp stamp;
        std::memcpy(&stamp, block, sizeof(stamp));
        if (!stamp.Valid()) errors.fetch_add(1);
        if (live[index_of(block)].exchange(0) != 1) errors.fetch_add(1);
        zone.Free(block);
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < StressThreads(); ++t) threads.emplace_back(worker, t);
  std::this_thread::sleep_for(StressDuration());
  stop = true;
  for (auto& thread : threads) thread.join();
  void* block = nullptr;
  while (handoff.try_pop(block)) {
    if (live[index_of(block)].exchange(0) != 1) errors.fetch_add(1);
    zone.Free(block);
  }

  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GT(allocations.load(), 0u);
  EXPECT_EQ(zone.Stats().in_use_blocks, 0u);
  size_t available = 0;
  std::vector<void*> all;
  while ((block = zone.Allocate()) != nullptr) all.push_back(block), ++available;
  EXPECT_EQ(available, kBlocks) << "a block was lost";
  for (void* b : all) zone.Free(b);
  RecordProperty("allocations", std::to_string(allocations.load()));
  RecordProperty("full_seen", std::to_string(full_seen.load()));
}

}  // namespace
}  // namespace zonealloc
