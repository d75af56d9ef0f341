// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/percpu_cache.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/stress_duration.h>
#include <zonealloc/testing/test_threads.h>

namespace zonealloc {
namespace {

using Mode = PerCpuCache::Mode;

// A cache and the memory it lives in; fixed depth unless `depth` is given.
struct CacheFixture {
  CacheFixture(Mode mode, uint32_t capacity)
      : CacheFixture(mode, PerCpuCache::Depth{.initial = capacity,
                                              .max = capacity,
                                              .total_bound = uint64_t{capacity} *
                                                             PerCpuCache::PossibleCpus()}) {}
  CacheFixture(Mode mode, PerCpuCache::Depth depth)
      : cpus(PerCpuCache::PossibleCpus()),
        memory(static_cast<char*>(std::aligned_alloc(64, PerCpuCache::BytesFor(cpus)))),
        cache((std::fill_n(memory, PerCpuCache::BytesFor(cpus), 0), mode), memory, cpus, depth) {}
  ~CacheFixture() { std::free(memory); }
  int cpus;
  char* memory;
  PerCpuCache cache;
};

// Keeps the calling thread on one CPU for the scope.
class PinToCpu {
 public:
  explicit PinToCpu(int cpu) {
    EXPECT_EQ(sched_getaffinity(0, sizeof(old_), &old_), 0) << std::strerror(errno);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    EXPECT_EQ(sched_setaffinity(0, sizeof(set), &set), 0)
        << "cpu " << cpu << ": " << std::strerror(errno);
  }
  ~PinToCpu() { EXPECT_EQ(sched_setaffinity(0, sizeof(old_), &old_), 0) << std::strerror(errno); }

 private:
  cpu_set_t old_;
};

int FirstAllowedCpu() {
  cpu_set_t set;
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0) << std::strerror(errno);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) return cpu;
  }
  return 0;
}

class PerCpuCacheTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (GetParam() == Mode::kRseq && !RseqSupport().ok()) {
      GTEST_SKIP() << RseqSupport().message();
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Modes, PerCpuCacheTest, ::testing::Values(Mode::kRseq, Mode::kLocked),
                         [](const auto& info) {
                           return info.param == Mode::kRseq ? "Rseq" : "Locked";
                         });

TEST_P(PerCpuCacheTest, PopsWhatThisCpuPushedLastInFirstOut) {
  CacheFixture f(GetParam(), 4);
  PinToCpu pin(FirstAllowedCpu());
  int blocks[5];
  void* popped = nullptr;
  EXPECT_EQ(f.cache.Pop(), nullptr) << "empty";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(f.cache.TryPush(&blocks[i]));
  EXPECT_FALSE(f.cache.TryPush(&blocks[4])) << "full at capacity";
  EXPECT_EQ(f.cache.CountOn(f.cache.CurrentCpu()), 4u);
  for (int i = 3; i >= 0; --i) {
    ASSERT_NE(popped = f.cache.Pop(), nullptr);
    EXPECT_EQ(popped, &blocks[i]);
  }
  EXPECT_EQ(f.cache.Pop(), nullptr);
}

TEST_P(PerCpuCacheTest, DrainTakesEveryBlockOfACpuAndReopensIt) {
  CacheFixture f(GetParam(), 8);
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  int blocks[3];
  for (int& block : blocks) ASSERT_TRUE(f.cache.TryPush(&block));
  void* out[8];
  ASSERT_EQ(f.cache.Drain(cpu, out), 3u);
  EXPECT_EQ(out[0], &blocks[0]);
  EXPECT_EQ(out[2], &blocks[2]);
  EXPECT_EQ(f.cache.CountOn(cpu), 0u);
  EXPECT_EQ(f.cache.StatsOf(cpu).drains, 1u);
  EXPECT_EQ(f.cache.Pop(), nullptr);
  EXPECT_TRUE(f.cache.TryPush(&blocks[0])) << "open again after the drain";
}

TEST_P(PerCpuCacheTest, BatchesMoveAsManyAsFitInOneStep) {
  CacheFixture f(GetParam(), 8);
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  int blocks[10];
  void* in[10];
  for (int i = 0; i < 10; ++i) in[i] = &blocks[i];
  EXPECT_EQ(f.cache.PushBatch(in, 5), 5u);
  EXPECT_EQ(f.cache.PushBatch(in + 5, 5), 3u) << "only 3 of 5 fit in 8 slots";
  EXPECT_EQ(f.cache.PushBatch(in + 8, 2), 0u) << "full";
  EXPECT_EQ(f.cache.CountOn(cpu), 8u);

  void* out[10] = {};
  ASSERT_EQ(f.cache.PopBatch(out, 3), 3u);
  EXPECT_EQ(out[0], &blocks[5]) << "the newest three, in slot order";
  EXPECT_EQ(out[2], &blocks[7]);
  void* popped;
  ASSERT_NE(popped = f.cache.Pop(), nullptr);
  EXPECT_EQ(popped, &blocks[4]) << "single pops continue below the batch";
  EXPECT_EQ(f.cache.PopBatch(out, 10), 4u) << "at most what is cached";
  EXPECT_EQ(out[0], &blocks[0]);
  EXPECT_EQ(f.cache.PopBatch(out, 10), 0u) << "empty";
}

// Adaptive depth: a CPU's cache deepens step by step up to its maximum and
// within the bound on all CPUs together; a drain puts it back.
TEST_P(PerCpuCacheTest, GrowsWithinItsBoundsAndADrainShrinksIt) {
  const int cpus = PerCpuCache::PossibleCpus();
  CacheFixture f(GetParam(), PerCpuCache::Depth{.initial = 4, .max = 16,
                                                .total_bound = uint64_t{4} * cpus + 4});
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 4u);
  EXPECT_TRUE(f.cache.Grow(cpu, 2));
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 6u);
  EXPECT_FALSE(f.cache.Grow(cpu, 100)) << "past the total bound";
  EXPECT_TRUE(f.cache.Grow(cpu, 2)) << "up to it";
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 8u);
  EXPECT_EQ(f.cache.total_capacity(), uint64_t{4} * cpus + 4);
  int blocks[12];
  void* in[12];
  for (int i = 0; i < 12; ++i) in[i] = &blocks[i];
  EXPECT_EQ(f.cache.PushBatch(in, 12), 8u) << "the deeper cache holds 8";
  void* out[16];
  EXPECT_EQ(f.cache.Drain(cpu, out), 8u);
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 4u) << "a drain shrinks it back";
  EXPECT_EQ(f.cache.total_capacity(), uint64_t{4} * cpus);
  EXPECT_EQ(f.cache.PushBatch(in, 12), 4u);
}

TEST_P(PerCpuCacheTest, ARaisedTotalBoundLetsCachesGrowFurtherAndNeverFalls) {
  const int cpus = PerCpuCache::PossibleCpus();
  CacheFixture f(GetParam(), PerCpuCache::Depth{.initial = 4, .max = 64,
                                                .total_bound = uint64_t{4} * cpus});
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  EXPECT_FALSE(f.cache.Grow(cpu, 8)) << "at the first bound";
  f.cache.RaiseTotalBound(uint64_t{4} * cpus + 8);
  EXPECT_EQ(f.cache.total_bound(), uint64_t{4} * cpus + 8);
  EXPECT_TRUE(f.cache.Grow(cpu, 8));
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 12u);
  f.cache.RaiseTotalBound(1);
  EXPECT_EQ(f.cache.total_bound(), uint64_t{4} * cpus + 8) << "a lower bound is ignored";
  EXPECT_FALSE(f.cache.Grow(cpu, 1));
}

TEST_P(PerCpuCacheTest, NeverDeeperThanItsMaximum) {
  CacheFixture f(GetParam(), PerCpuCache::Depth{.initial = 4, .max = 10, .total_bound = 1000});
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  EXPECT_TRUE(f.cache.Grow(cpu, 100));
  EXPECT_EQ(f.cache.StatsOf(cpu).capacity, 10u);
  EXPECT_FALSE(f.cache.Grow(cpu, 1));
}

TEST_P(PerCpuCacheTest, ADrainedCacheTakesBatchesAgain) {
  CacheFixture f(GetParam(), 4);
  PinToCpu pin(FirstAllowedCpu());
  const int cpu = f.cache.CurrentCpu();
  int blocks[4];
  void* in[4] = {&blocks[0], &blocks[1], &blocks[2], &blocks[3]};
  ASSERT_EQ(f.cache.PushBatch(in, 4), 4u);
  void* out[4];
  ASSERT_EQ(f.cache.Drain(cpu, out), 4u);
  EXPECT_EQ(f.cache.PopBatch(out, 4), 0u);
  EXPECT_EQ(f.cache.PushBatch(in, 4), 4u);
  EXPECT_EQ(f.cache.PopBatch(out, 4), 4u);
}

// Tokens move between a shared pool and the CPU caches while a drainer
// empties every CPU's cache, threads migrate between CPUs, and (in rseq
// mode) signals interrupt critical sections. Each token is claimed when
// popped and released when pushed: a token handed out twice or lost fails.
class TokenWorld {
 public:
  explicit TokenWorld(int tokens) : claimed_(tokens), pool_(tokens) {
    for (int i = 0; i < tokens; ++i) pool_[i] = &claimed_[i];
  }
  void* TakeFromPool() {
    std::lock_guard<std::mutex> lock(mu_);
    if (pool_.empty()) return nullptr;
    void* token = pool_.back();
    pool_.pop_back();
    return token;
  }
  void ReturnToPool(void* const* tokens, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.insert(pool_.end(), tokens, tokens + n);
  }
  void Claim(void* token) {
    if (static_cast<std::atomic<int>*>(token)->exchange(1) != 0) errors_.fetch_add(1);
  }
  void Release(void* token) {
    if (static_cast<std::atomic<int>*>(token)->exchange(0) != 1) errors_.fetch_add(1);
  }
  int errors() const { return errors_.load(); }
  // All tokens back in the pool, each once.
  bool AllHome() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<void*> sorted = pool_;
    std::sort(sorted.begin(), sorted.end());
    return sorted.size() == claimed_.size() &&
           std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
  }

 private:
  std::vector<std::atomic<int>> claimed_;
  std::mutex mu_;
  std::vector<void*> pool_;
  std::atomic<int> errors_{0};
};

void IgnoreSignal(int) {}

TEST_P(PerCpuCacheTest, TokensSurviveDrainsMigrationAndSignals) {
  // Caches grow (workers call Grow) and shrink (every drain) throughout.
  constexpr uint32_t kCapacity = 16;
  CacheFixture f(GetParam(), PerCpuCache::Depth{
                                 .initial = 4,
                                 .max = kCapacity,
                                 .total_bound = uint64_t{10} * PerCpuCache::PossibleCpus()});
  TokenWorld world(512);
  const int kThreads = internal::TestThreads(4);
  const absl::StatusOr<std::chrono::milliseconds> duration =
      internal::StressDuration(std::chrono::milliseconds(1000));
  ASSERT_TRUE(duration.ok()) << duration.status();
  std::atomic<bool> stop{false};
  struct sigaction action = {};
  action.sa_handler = IgnoreSignal;
  sigaction(SIGUSR1, &action, nullptr);
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0) << std::strerror(errno);
  const uint64_t restarts_before = RseqRestarts();

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      std::minstd_rand rng(t);
      void* held[kCapacity];
      for (int round = 0; !stop.load(std::memory_order_relaxed); ++round) {
        if (round % 8 == 0) f.cache.Grow(f.cache.CurrentCpu(), 1 + round % 5);
        if (round % 64 == 0) {  // migrate to a random allowed CPU
          cpu_set_t one;
          CPU_ZERO(&one);
          int pick = static_cast<int>(rng() % CPU_COUNT(&allowed));
          for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &allowed) && pick-- == 0) CPU_SET(cpu, &one);
          }
          EXPECT_EQ(sched_setaffinity(0, sizeof(one), &one), 0) << std::strerror(errno);
        }
        // Odd rounds move blocks in batches, even rounds one at a time.
        const bool batched = round % 2 == 1;
        const int pushes = static_cast<int>(rng() % 8);
        void* taken[8];
        int k = 0;
        while (k < pushes && (taken[k] = world.TakeFromPool()) != nullptr) ++k;
        if (batched) {
          const uint32_t pushed = f.cache.PushBatch(taken, static_cast<uint32_t>(k));
          world.ReturnToPool(taken + pushed, k - pushed);
        } else {
          for (int i = 0; i < k; ++i) {
            if (!f.cache.TryPush(taken[i])) world.ReturnToPool(&taken[i], 1);
          }
        }
        size_t n = 0;
        const size_t pops = rng() % 8;
        if (batched) {
          n = f.cache.PopBatch(held, static_cast<uint32_t>(pops));
          for (size_t i = 0; i < n; ++i) world.Claim(held[i]);
        } else {
          while (n < pops && (held[n] = f.cache.Pop()) != nullptr) world.Claim(held[n++]);
        }
        for (size_t i = 0; i < n; ++i) world.Release(held[i]);
        world.ReturnToPool(held, n);
      }
    });
  }
  std::thread drainer([&] {
    std::vector<void*> out(kCapacity);
    while (!stop.load(std::memory_order_relaxed)) {
      for (int cpu = 0; cpu < f.cpus; ++cpu) {
        world.ReturnToPool(out.data(), f.cache.Drain(cpu, out.data()));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::thread signaller([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      for (auto& worker : workers) pthread_kill(worker.native_handle(), SIGUSR1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::this_thread::sleep_for(*duration);
  stop = true;
  signaller.join();
  for (auto& worker : workers) worker.join();
  drainer.join();
  std::vector<void*> out(kCapacity);
  for (int cpu = 0; cpu < f.cpus; ++cpu) {
    world.ReturnToPool(out.data(), f.cache.Drain(cpu, out.data()));
  }

  EXPECT_EQ(world.errors(), 0);
  EXPECT_TRUE(world.AllHome()) << "a token was lost or duplicated";
  if (GetParam() == Mode::kRseq) {
    // The abort path ran, and the conservation above held through it.
    EXPECT_GT(RseqRestarts(), restarts_before);
  }
}

}  // namespace
}  // namespace zonealloc
