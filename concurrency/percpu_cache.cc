// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/percpu_cache.h>

#include <sched.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <new>

#include <zonealloc/concurrency/possible_cpus.h>

namespace zonealloc {


int PerCpuCache::PossibleCpus() {
  // The highest possible id + 1, not get_nprocs_conf()'s count: see
  // possible_cpus.h. Read once; the possible mask is fixed at boot.
  static const int cpus = PossibleCpuIdLimit();
  return cpus;
}

PerCpuCache::PerCpuCache(Mode mode, void* memory, int num_cpus, Depth depth)
    : mode_(mode),
      depth_(depth),
      total_capacity_(uint64_t{depth.initial} * static_cast<uint64_t>(num_cpus)),
      total_bound_(depth.total_bound),
      geometry_{static_cast<char*>(memory), static_cast<uint32_t>(num_cpus)} {
  for (int cpu = 0; cpu < num_cpus; ++cpu) {
    CpuHeader* header = new (&Header(cpu)) CpuHeader();
    // relaxed: the zone publishes the cache before any thread uses it.
    header->limit.store(depth.initial, std::memory_order_relaxed);
  }
}

bool PerCpuCache::Grow(int cpu, uint32_t by) {
  CpuHeader& header = Header(cpu);
  // relaxed: the CAS below (or the lock) validates it.
  uint32_t current = header.limit.load(std::memory_order_relaxed);
  if (current == 0 || current >= depth_.max) return false;
  const uint32_t grown = std::min(depth_.max, current + by);
  const uint64_t delta = grown - current;
  const uint64_t bound = total_bound();
  // relaxed: a first look, so a cache at the bound does not bounce the line.
  if (total_capacity_.load(std::memory_order_relaxed) + delta > bound) return false;
  // relaxed: a bound on a count; the limit's CAS or the lock orders the cache.
  if (total_capacity_.fetch_add(delta, std::memory_order_relaxed) + delta > bound) {
    total_capacity_.fetch_sub(delta, std::memory_order_relaxed);
    return false;
  }
  bool grew;
  if (mode_ == Mode::kRseq) {
    // relaxed: sections only read limit; a larger one needs no ordering.
    grew = header.limit.compare_exchange_strong(current, grown, std::memory_order_relaxed);
  } else {
    SpinLockHolder hold(header.lock);
    // relaxed: under the lock.
    grew = header.limit.load(std::memory_order_relaxed) == current;
    if (grew) header.limit.store(grown, std::memory_order_relaxed);
  }
  if (!grew) total_capacity_.fetch_sub(delta, std::memory_order_relaxed);
  return grew;
}

void PerCpuCache::RaiseTotalBound(uint64_t bound) {
  // relaxed: a bound on a count (see Grow); the owner serializes raises.
  if (bound > total_bound()) total_bound_.store(bound, std::memory_order_relaxed);
}

int PerCpuCache::CurrentCpu() const {
  if (mode_ == Mode::kRseq) {
    // cpu_id, which the critical sections index by. On a thread whose rseq
    // registration failed or was undone it is past every CPU (while
    // cpu_id_start reads 0 wherever the thread runs), so its sections all
    // miss; the misses then count on the CPU sched_getcpu() names.
    const uint32_t cpu = CurrentRseqArea()->cpu_id;
    if (cpu < static_cast<uint32_t>(num_cpus())) return static_cast<int>(cpu);
  }
  const int cpu = std::max(0, sched_getcpu());
  return cpu < num_cpus() ? cpu : cpu % num_cpus();
}

bool PerCpuCache::CallerCanCache() const {
  return mode_ != Mode::kRseq || CurrentRseqArea()->cpu_id < static_cast<uint32_t>(num_cpus());
}

uint32_t PerCpuCache::Drain(int cpu, void** out) {
  CpuHeader& header = Header(cpu);
  void** slots = Slots(cpu);
  uint32_t count = 0;
  uint32_t old_capacity = 0;
  if (mode_ == Mode::kRseq) {
    // Stop: no critical section on `cpu` can commit after the fence. The
    // exchange also fails any Grow() that read the old limit.
    // relaxed: FenceCpu() is a full barrier on both sides.
    old_capacity = header.limit.exchange(0, std::memory_order_relaxed);
    FenceCpu(cpu);
    count = header.count.load(std::memory_order_relaxed);
    std::copy(slots, slots + count, out);
    header.count.store(0, std::memory_order_relaxed);
    // release: reopening publishes count = 0 before any section reads limit.
    header.limit.store(depth_.initial, std::memory_order_release);
  } else {
    SpinLockHolder hold(header.lock);
    // relaxed: under the lock.
    count = header.count.load(std::memory_order_relaxed);
    std::copy(slots, slots + count, out);
    header.count.store(0, std::memory_order_relaxed);
    old_capacity = header.limit.load(std::memory_order_relaxed);
    header.limit.store(depth_.initial, std::memory_order_relaxed);
  }
  // relaxed: a bound on a count.
  total_capacity_.fetch_sub(old_capacity - depth_.initial, std::memory_order_relaxed);
  if (count > 0) Bump(header.drains);
  return count;
}

void* PerCpuCache::PopLocked() {
  const int cpu = CurrentCpu();
  CpuHeader& header = Header(cpu);
  SpinLockHolder hold(header.lock);
  // relaxed: every access is under the lock.
  const uint32_t count = header.count.load(std::memory_order_relaxed);
  if (count == 0) return nullptr;
  header.count.store(count - 1, std::memory_order_relaxed);
  return Slots(cpu)[count - 1];
}

bool PerCpuCache::TryPushLocked(void* block) {
  const int cpu = CurrentCpu();
  CpuHeader& header = Header(cpu);
  SpinLockHolder hold(header.lock);
  // relaxed: every access is under the lock.
  const uint32_t count = header.count.load(std::memory_order_relaxed);
  if (count >= header.limit.load(std::memory_order_relaxed)) return false;
  Slots(cpu)[count] = block;
  header.count.store(count + 1, std::memory_order_relaxed);
  return true;
}

uint32_t PerCpuCache::PopBatchLocked(void** out, uint32_t max) {
  const int cpu = CurrentCpu();
  CpuHeader& header = Header(cpu);
  SpinLockHolder hold(header.lock);
  // relaxed: every access is under the lock.
  const uint32_t count = header.count.load(std::memory_order_relaxed);
  const uint32_t n = std::min(count, max);
  std::copy_n(Slots(cpu) + count - n, n, out);
  header.count.store(count - n, std::memory_order_relaxed);
  return n;
}

uint32_t PerCpuCache::PushBatchLocked(void* const* blocks, uint32_t n) {
  const int cpu = CurrentCpu();
  CpuHeader& header = Header(cpu);
  SpinLockHolder hold(header.lock);
  // relaxed: every access is under the lock.
  const uint32_t count = header.count.load(std::memory_order_relaxed);
  const uint32_t pushed = std::min(n, header.limit.load(std::memory_order_relaxed) - count);
  std::copy_n(blocks, pushed, Slots(cpu) + count);
  header.count.store(count + pushed, std::memory_order_relaxed);
  return pushed;
}

void PerCpuCache::LockAllForFork() {
  if (mode_ != Mode::kLocked) return;
  for (int cpu = 0; cpu < num_cpus(); ++cpu) Header(cpu).lock.Lock();
}

void PerCpuCache::UnlockAllAfterFork() {
  if (mode_ != Mode::kLocked) return;
  for (int cpu = num_cpus(); cpu-- > 0;) Header(cpu).lock.Unlock();
}

CpuCacheStats PerCpuCache::StatsOf(int cpu) const {
  const CpuHeader& header = Header(cpu);
  // relaxed: statistics.
  return CpuCacheStats{.misses = header.misses.load(std::memory_order_relaxed),
                       .refills = header.refills.load(std::memory_order_relaxed),
                       .flushes = header.flushes.load(std::memory_order_relaxed),
                       .drains = header.drains.load(std::memory_order_relaxed),
                       .batch_moves = header.batch_moves.load(std::memory_order_relaxed),
                       .blocks = header.count.load(std::memory_order_relaxed),
                       .capacity = header.limit.load(std::memory_order_relaxed)};
}

}  // namespace zonealloc
