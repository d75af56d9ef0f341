// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_format.h"
#include <zonealloc/internal/crash_format.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc {
namespace {

// Debug-build states of links[i] while block i is not on a shared stack.
constexpr uint32_t kAllocatedMark = kNoIndex - 1;
constexpr uint32_t kFreedMark = kNoIndex - 2;

// The shared zone's batch size without CPU caches: it keeps no whole
// batches then, and a FreeBulk() pushes its blocks in chains of this many
// (one CAS each); AllocateBulk() pops them one at a time.
constexpr uint32_t kUncachedBatchBlocks = 64;
constexpr uint32_t kMaxBatchBlocks = SharedZone::kMaxBatchBlocks;
// Blocks a refill prefetches for writing, the next popped first. More keep
// the core's miss buffers full of lines the program reaches only later
// (prodcons, 2 threads: 66 Mops/s prefetching a whole batch of 255, 75 with
// 16, medians of 7 interleaved; fill, burst and larson level).
constexpr uint32_t kRefillPrefetchBlocks = 16;
static_assert(kMaxCpuCacheBatchBlocks <= kMaxBatchBlocks);
static_assert(kUncachedBatchBlocks <= kMaxBatchBlocks);

constexpr int64_t kIdleScanPeriodNs = 1'000'000'000;
// How often a busy zone with CPU caches samples in_use for the peak.
constexpr int64_t kPeakSamplePeriodNs = 1'000'000;

// Now, for the cache tiers' schedules: the coarse monotonic clock, a few
// nanoseconds per read where steady_clock costs about 20, on every refill
// and flush. It advances once a scheduler tick (1-10 ms), so a schedule
// runs up to a tick late, and one shorter than a tick (the peak sample's
// millisecond) runs once a tick.
int64_t CoarseNowNs() {
  timespec now;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &now) != 0) {  // a kernel without it
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// Starts fetching the cache line at p for writing. A refill's blocks are
// written by their callers first, and may sit in another CPU's cache (freed
// there): a read prefetch would fetch them shared, and the first write
// would then fetch them again to own them. x86-64 CPUs without prefetchw's
// feature bit (Intel's before Broadwell) run it as a NOP in practice, as
// Windows 8.1 relies on; GCC emits it for __builtin_prefetch only where
// -mprfchw or -march says the CPU has it.
void PrefetchForWrite(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, /*rw=*/1);
#endif
}

// The most all CPUs' caches may hold together in a zone of `capacity`
// blocks: all of it but a batch per CPU, so that where that term is the
// largest, with no block in use or on its way between tiers, every CPU can
// refill once without draining another's cache; at least half of it, and at
// least every CPU's initial depth.
uint64_t CachesBound(uint64_t capacity, uint64_t cpus, uint64_t initial_depth,
                     uint64_t batch_blocks) {
  const uint64_t kept_out = cpus * batch_blocks;
  return std::max({cpus * initial_depth, capacity / 2, capacity > kept_out ? capacity - kept_out : 0});
}

// The caches' depths from the resolved options (see cpu_cache_max_blocks);
// extensions raise the bound.
PerCpuCache::Depth CacheDepth(const ZoneOptions& resolved) {
  const auto cpus = static_cast<uint64_t>(PerCpuCache::PossibleCpus());
  return PerCpuCache::Depth{
      .initial = static_cast<uint32_t>(resolved.cpu_cache_blocks),
      .max = static_cast<uint32_t>(resolved.cpu_cache_max_blocks),
      .total_bound = CachesBound(resolved.initial_blocks, cpus, resolved.cpu_cache_blocks,
                                 resolved.cpu_cache_batch_blocks),
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<Zone>> Zone::Create(const ZoneOptions& options) {
  return ZoneService::Default().CreateZone(options);
}

Zone::Zone(const ZoneOptions& resolved, internal::BlockRegion region, ZoneService& service,
           void* cache_memory, size_t cache_bytes)
    : name_(ZoneDisplayName(resolved)),
      overflow_tag_(absl::StrFormat("zonealloc-overflow:%s", name_)),
      debug_checks_(resolved.debug_checks.value_or(false)),
      extension_blocks_(resolved.extension_blocks),
      extension_growth_percent_(resolved.extension_growth_percent),
      prefault_chunk_blocks_(static_cast<uint32_t>(std::max<size_t>(
          {1, kPrefaultAheadBytes / region.block_size(),
           resolved.cpu_cache_blocks == 0 ? 0 : resolved.cpu_cache_batch_blocks}))),
      prefaulted_end_(debug_checks_ ? kNoPrefault
                                    : static_cast<uint32_t>(region.committed_blocks())),
      alignment_(std::max<size_t>(resolved.alignment, 8)),
      service_(service),
      pages_(*resolved.page_source),
      region_(std::move(region)),
      rseq_cache_(cache_memory != nullptr && resolved.cpu_cache == CpuCacheMode::kRseq),
      cache_memory_(cache_memory),
      cache_bytes_(cache_bytes),
      shared_(region_,
              resolved.cpu_cache_blocks == 0
                  ? kUncachedBatchBlocks
                  : static_cast<uint32_t>(resolved.cpu_cache_batch_blocks),
              /*use_batches=*/resolved.cpu_cache_blocks != 0),
      overflow_(*resolved.page_source, overflow_tag_,
                region_.block_size(), alignment_,
                resolved.overflow_slab_blocks, resolved.max_overflow_blocks),
      policy_(resolved.extend_after_overflow_allocations) {
  internal::CreateBlockPool(this);
  if (cache_memory_ != nullptr) {
    cache_.emplace(
        resolved.cpu_cache == CpuCacheMode::kRseq ? PerCpuCache::Mode::kRseq
                                                  : PerCpuCache::Mode::kLocked,
        cache_memory_, PerCpuCache::PossibleCpus(), CacheDepth(resolved));
    SpinLockHolder hold(slow_lock_);
    activity_at_last_scan_.assign(cache_->num_cpus(), {});
    // Uninitialized: where malloc maps it fresh (glibc does at this size,
    // at first), its pages are touched only as deep as a drain reaches.
    drain_buffer_.reset(new void*[cache_->max_capacity()]);
  }
  // Hand the initial segment to the shared zone.
  const size_t initial = region_.committed_blocks();
  PrepareFreshBlocks(0, initial);
  shared_.AddFresh(0, static_cast<uint32_t>(initial));
}

Zone::~Zone() {
  // Leak report: blocks still in use become invalid now; say how many.
  if (const size_t in_use = Stats().in_use_blocks; in_use > 0) {
    internal::ReportToStderr("zonealloc: zone '%s' destroyed with %zu blocks in use (%zu bytes)\n",
                             name_.c_str(), in_use, in_use * region_.block_size());
  }
  internal::DestroyBlockPool(this);  // the overflow pool's is its own
  // The region is unmapped next; its addresses may be mapped again for
  // anything, which must not find them poisoned.
  internal::UnpoisonBeforeUnmap(region_.BlockAt(0),
                                region_.committed_blocks() * region_.block_size());
  service_.Unregister(this);
  service_.UnmapAndRefund(region_, name_);
  cache_.reset();
  if (cache_memory_ != nullptr && !pages_.Unmap(cache_memory_, cache_bytes_)) {
    internal::ReportToStderr(
        "zonealloc: zone '%s': %zu bytes of CPU caches at %p stay mapped: %s\n", name_.c_str(),
        cache_bytes_, cache_memory_, std::strerror(errno));
  }
}

uint64_t Zone::PermanentBytes(size_t blocks) const {
  return internal::BlockRegion::PermanentBytes(region_.block_size(), blocks);
}

void Zone::PrepareFreshBlocks(size_t first, size_t n) const {
  if (n == 0) return;
  void* const begin = region_.BlockAt(static_cast<uint32_t>(first));
  if (debug_checks_) std::memset(begin, kFreedBlockFill, n * region_.block_size());
  internal::PoisonFreeBlock(begin, n * region_.block_size());
}

void* Zone::HandOut(void* block, bool filled) {
  if (debug_checks_) {
    if (filled) VerifyFill(block);  // while the block is still free
    MarkAllocatedIndex(region_.IndexOf(block));
  }
  return MarkAllocated(block);
}

void Zone::VerifyFill(const void* block, size_t from_offset) const {
  internal::UnpoisonBlock(block, region_.block_size());  // the fill is defined
  const auto* bytes = static_cast<const unsigned char*>(block);
  for (size_t offset = from_offset; offset < region_.block_size(); ++offset) {
    if (ABSL_PREDICT_TRUE(bytes[offset] == kFreedBlockFill)) continue;
    internal::CrashFormat(
        "zone '%s': block %p was written after it was freed: byte at offset %d is 0x%02x, "
        "not the fill 0x%02x",
        name_, block, offset, bytes[offset], kFreedBlockFill);
  }
}

// An overflow block freed before holds the fill past its first word (its
// slab's free-list link); one never handed out was never filled.
void Zone::VerifyOverflowFill(const void* block, bool recycled) const {
  internal::UnpoisonBlock(block, region_.block_size());
  if (recycled) VerifyFill(block, sizeof(void*));
  // OverflowPool::Allocate() handed the block out undefined; so it stays.
  internal::ForgetContents(block, region_.block_size());
}

void* Zone::AllocateWithoutRseq() {
  if (debug_checks_) return AllocateChecked();  // never with caches
  if (cache_.has_value()) {
    void* block = cache_->Pop();
    return block != nullptr ? MarkAllocated(block) : AllocateMiss();
  }
  int64_t blocks_out;
  void* block = shared_.PopOne(&blocks_out);
  if (block == nullptr) return AllocateSlow();
  NotePeakWithoutCaches(blocks_out);
  PrefaultAhead(block);
  return MarkAllocated(block);
}

void Zone::FreeWithoutRseq(void* block) {
  if (debug_checks_) return FreeChecked(block);  // never with caches
  if (cache_.has_value()) {
    MarkFree(block);
    if (!cache_->TryPush(block)) FreeMiss(block);
    return;
  }
  MarkFree(block);
  if (shared_.PushOne(block)) OnNoLongerFull(SlowLock::kNotHeld);
}

void Zone::NotePeakWithoutCaches(int64_t shared_out) {
  // relaxed: statistics.
  const int64_t in_use = shared_out + overflow_in_use_.load(std::memory_order_relaxed);
  if (in_use > peak_in_use_.load(std::memory_order_relaxed)) RaisePeak(in_use);
}

void* Zone::AllocateChecked() {
  int64_t blocks_out;
  void* block = shared_.PopOne(&blocks_out);
  if (block == nullptr) return AllocateSlow();
  NotePeakWithoutCaches(blocks_out);
  return HandOut(block, /*filled=*/true);
}

void Zone::FreeChecked(void* block) {
  CheckAndMarkFree(block);  // double free, in every build
  std::memset(block, kFreedBlockFill, region_.block_size());
  internal::BlockFreed(this, block, region_.block_size());
  if (shared_.PushOne(block)) OnNoLongerFull(SlowLock::kNotHeld);
}

uint32_t Zone::TakeFromShared(void** out, uint32_t max, SlowLock lock) {
  bool refilled_empty = false;
  const uint32_t n = shared_.Take(out, max, &refilled_empty);
  if (refilled_empty) OnNoLongerFull(lock);
  if (n > 0 && !cache_.has_value()) NotePeakWithoutCaches(shared_.blocks_out());
  // Fresh blocks come last. Under the lock the slow path prefaults after it.
  if (n > 0 && lock == SlowLock::kNotHeld) PrefaultAhead(out[n - 1]);
  return n;
}

void Zone::ReturnToShared(void* const* blocks, size_t n, SlowLock lock) {
  if (shared_.Put(blocks, n)) OnNoLongerFull(lock);
}

void* Zone::AllocateMiss() {
  const int cpu = cache_->CurrentCpu();
  cache_->CountMiss(cpu);
  // Demand: let this CPU keep more of what it will free (adaptive depth).
  if (cache_->CallerCanCache()) cache_->Grow(cpu, shared_.batch_blocks());
  void* batch[kMaxBatchBlocks];
  const uint32_t n = TakeFromShared(batch, shared_.batch_blocks(), SlowLock::kNotHeld);
  if (n == 0) return AllocateSlow();
  cache_->CountRefill(cpu);
  // The cache hands out last what was pushed first: push the batch back to
  // front, so its blocks leave in the order Take() gave them (where the push
  // is short, Take()'s first ones go back to the shared zone). For fresh
  // blocks that is ascending addresses, one stream that a hardware
  // prefetcher follows into the next batch. Front to back, a new zone's
  // blocks left each batch stepping down, and a burst over cold memory ran
  // about 1.5x slower.
  std::reverse(batch + 1, batch + n);
  // Short only when the thread migrated to a fuller cache, or a drain runs.
  const uint32_t kept = cache_->PushBatch(batch + 1, n - 1);
  // A refill's blocks were usually freed long ago or on another CPU: fetch
  // the first few now, together, rather than one miss per Allocate()
  // caller. (Blocks never touched have no page yet, and the prefetch is
  // dropped.)
  const uint32_t last_prefetched = kept > kRefillPrefetchBlocks ? kept - kRefillPrefetchBlocks : 0;
  for (uint32_t i = kept; i > last_prefetched; --i) PrefetchForWrite(batch[i]);
  ReturnToShared(batch + 1 + kept, n - 1 - kept, SlowLock::kNotHeld);
  OnCacheMissOrFlush();
  return MarkAllocated(batch[0]);
}

void Zone::FreeMiss(void* block) {
  const int cpu = cache_->CurrentCpu();
  const bool can_cache = cache_->CallerCanCache();
  // A full cache deepens while the bounds allow, instead of flushing.
  if (can_cache && cache_->Grow(cpu, shared_.batch_blocks()) && cache_->TryPush(block)) return;
  if (can_cache) cache_->CountFlush(cpu);  // else nothing was cached
  void* batch[kMaxBatchBlocks];
  batch[0] = block;
  const uint32_t n = 1 + cache_->PopBatch(batch + 1, shared_.batch_blocks() - 1);
  ReturnToShared(batch, n, SlowLock::kNotHeld);
  // After the return: until then the blocks just popped would count as in
  // use in the peak's sample (out of the shared zone, in no cache).
  OnCacheMissOrFlush();
}

size_t Zone::AllocateBulk(std::span<void*> blocks) {
  size_t n = 0;
  if (cache_.has_value()) {
    const auto want = static_cast<uint32_t>(std::min<size_t>(blocks.size(), UINT32_MAX));
    n = cache_->PopBatch(blocks.data(), want);
  }
  while (n < blocks.size()) {
    const auto want = static_cast<uint32_t>(std::min<size_t>(blocks.size() - n, kMaxBatchBlocks));
    const uint32_t got = TakeFromShared(&blocks[n], want, SlowLock::kNotHeld);
    if (got == 0) break;
    n += got;
  }
  for (size_t i = 0; i < n; ++i) HandOut(blocks[i], /*filled=*/true);
  // The zone is full: overflow or extension.
  if (n < blocks.size()) n += AllocateSlow(blocks.subspan(n));
  return n;
}

void Zone::FreeBulk(std::span<void* const> blocks) {
  if (debug_checks_) {
    for (void* block : blocks) Free(block);
    return;
  }
  void* pending[kMaxBatchBlocks];
  uint32_t n = 0;
  const auto flush = [&] {
    const uint32_t cached = cache_.has_value() ? cache_->PushBatch(pending, n) : 0;
    ReturnToShared(pending + cached, n - cached, SlowLock::kNotHeld);
    n = 0;
  };
  // Overflow blocks (or foreign pointers, which abort), handed to
  // FreeOverflow() kMaxBatchBlocks at a time: many per hold of its lock.
  void* overflow[kMaxBatchBlocks];
  uint32_t overflowed = 0;
  for (void* block : blocks) {
    if (!region_.Contains(block)) {
      if (block == nullptr) continue;
      overflow[overflowed++] = block;
      if (overflowed == kMaxBatchBlocks) {
        FreeOverflow({overflow, overflowed});
        overflowed = 0;
      }
      continue;
    }
    MarkFree(block);
    pending[n++] = block;
    if (n == kMaxBatchBlocks) flush();
  }
  flush();
  if (overflowed > 0) FreeOverflow({overflow, overflowed});
}

bool Zone::IsFull() const {
  if (cache_.has_value() && cache_->CountOn(cache_->CurrentCpu()) > 0) return false;
  return shared_.Empty();
}

void Zone::DrainCpuLocked(int cpu) {
  ReturnToShared(drain_buffer_.get(), cache_->Drain(cpu, drain_buffer_.get()),
                 SlowLock::kHeld);
}

void Zone::DrainAllLocked(EmptyCaches empty) {
  if (!cache_.has_value()) return;
  for (int cpu = 0; cpu < cache_->num_cpus(); ++cpu) {
    const bool drain = empty == EmptyCaches::kBackToInitialDepth ? !cache_->EmptyAtInitialDepth(cpu)
                                                                 : cache_->CountOn(cpu) > 0;
    if (drain) DrainCpuLocked(cpu);
  }
}

void Zone::Drain() {
  SpinLockHolder hold(slow_lock_);
  DrainAllLocked(EmptyCaches::kBackToInitialDepth);
  NotePeakLocked(CachedBlocks());
}

size_t Zone::CachedBlocks() const {
  size_t cached = 0;
  if (cache_.has_value()) {
    for (int cpu = 0; cpu < cache_->num_cpus(); ++cpu) cached += cache_->CountOn(cpu);
  }
  return cached;
}

void Zone::NotePeakLocked(size_t cached) const {
  // relaxed: statistics.
  const int64_t in_use = shared_.blocks_out() - static_cast<int64_t>(cached) +
                         static_cast<int64_t>(overflow_.stats().blocks_in_use);
  if (in_use > peak_in_use_.load(std::memory_order_relaxed)) RaisePeak(in_use);
}

void Zone::OnCacheMissOrFlush() {
  const int64_t now = CoarseNowNs();
  // relaxed: a schedule; a sample read twice or late only costs a scan.
  if (now >= next_peak_sample_ns_.load(std::memory_order_relaxed)) {
    next_peak_sample_ns_.store(now + kPeakSamplePeriodNs, std::memory_order_relaxed);
    // relaxed: statistics.
    const int64_t in_use = shared_.blocks_out() -
                           static_cast<int64_t>(CachedBlocks()) +
                           overflow_in_use_.load(std::memory_order_relaxed);
    if (in_use > peak_in_use_.load(std::memory_order_relaxed)) RaisePeak(in_use);
  }
  MaybeDrainIdleCaches(now);
}

void Zone::MaybeDrainIdleCaches(int64_t now) {
  // relaxed: a schedule; the lock below orders the scan itself.
  if (now < next_idle_scan_ns_.load(std::memory_order_relaxed) || !slow_lock_.TryLock()) return;
  // Re-check under the lock: another thread may have scanned just now, and
  // a second scan microseconds later would find busy caches "idle".
  // relaxed: the lock orders these.
  if (now < next_idle_scan_ns_.load(std::memory_order_relaxed)) {
    slow_lock_.Unlock();
    return;
  }
  next_idle_scan_ns_.store(now + kIdleScanPeriodNs, std::memory_order_relaxed);
  for (int cpu = 0; cpu < cache_->num_cpus(); ++cpu) {
    // Idle: no miss or flush and the same blocks cached since the last
    // scan. A CPU busy only inside its cache looks idle too; draining it
    // costs it one refill a second. An idle cache that is empty but deeper
    // than it started is drained too: its depth counts against the bound
    // on all caches, which would keep busy CPUs' caches from deepening.
    const CpuCacheStats stats = cache_->StatsOf(cpu);
    const CpuActivity now_activity{stats.misses + stats.flushes, stats.blocks};
    if (now_activity == activity_at_last_scan_[cpu] && !cache_->EmptyAtInitialDepth(cpu)) {
      DrainCpuLocked(cpu);
    }
    activity_at_last_scan_[cpu] = {stats.misses + stats.flushes, cache_->CountOn(cpu)};
  }
  slow_lock_.Unlock();
}

void* Zone::AllocateSlow() {
  void* block = nullptr;
  AllocateSlow({&block, 1});
  return block;
}

size_t Zone::AllocateSlow(std::span<void*> out) {
  size_t n = 0;
  while (n < out.size()) {
    // acquire: see "Slow-path protocol"; read before the re-check under the lock.
    const uint64_t epoch = not_full_epoch_.load(std::memory_order_acquire);
    const std::span<void*> want = out.subspan(n, std::min<size_t>(out.size() - n, kMaxBatchBlocks));
    const SlowFill fill = [&] {
      SpinLockHolder hold(slow_lock_);
      return AllocateSlowLocked(epoch, want);
    }();
    // An extension's blocks, typically: its next blocks are prefaulted now
    // that the lock is free, which waiters would otherwise wait out.
    for (size_t i = fill.blocks; i-- > 0;) {
      if (region_.Contains(want[i])) {
        PrefaultAhead(want[i]);
        break;
      }
    }
    n += fill.blocks;
    if (fill.failed) break;
  }
  return n;
}

// The fresh range goes out in address order, so the blocks after `taken`
// are the next to be used. Other threads may take and touch them meanwhile,
// which is harmless (PageSource::Prefault).
void Zone::PrefaultAheadSlow(uint32_t taken) {
  // relaxed: the compare-exchange only elects the thread that prefaults a
  // range; the pages themselves are the kernel's to order.
  uint32_t end = prefaulted_end_.load(std::memory_order_relaxed);
  // Again: a thread that found it due along with this one may have moved
  // the end on since, and a second chunk would run further ahead.
  if (!PrefaultDue(taken, end)) return;
  const size_t committed = region_.committed_blocks();
  const size_t from = std::max<size_t>(end, size_t{taken} + 1);
  const size_t to = std::min(from + prefault_chunk_blocks_, committed);
  if (from >= to) {
    // The take reached the last committed block: nothing is left to
    // prefault, and PrefaultAhead() is two loads again from now on.
    prefaulted_end_.compare_exchange_strong(end, static_cast<uint32_t>(committed),
                                            std::memory_order_relaxed);
    return;
  }
  if (!prefaulted_end_.compare_exchange_strong(end, static_cast<uint32_t>(to),
                                               std::memory_order_relaxed)) {
    return;  // another thread does it
  }
  const int saved_errno = errno;  // Allocate() succeeds whatever the answer
  errno = 0;  // a source that fails without setting errno is asked again
  if (!region_.Prefault(from, to - from) && (errno == EINVAL || errno == ENOSYS)) {
    prefaulted_end_.store(kNoPrefault, std::memory_order_relaxed);  // it never will
  }
  errno = saved_errno;
}

// Block by block as single Allocate() calls in a row would go: each block
// comes from the shared zone if it has one, else from an extension if the
// rule says so, else overflow; the epoch is read afresh for each block. A
// hold maps at most one new slab or extension (besides the drain's fences
// at its start): it ends before a second, or before an extension once the
// caches hold a batch again, and the caller takes the lock again, draining
// first.
Zone::SlowFill Zone::AllocateSlowLocked(uint64_t epoch, std::span<void*> out) {
  ++slow_path_entries_;
  // Cached blocks are free blocks, but a drain costs a fence per CPU: worth
  // it only when the caches hold at least a batch (see "Full-zone path").
  // One scan of every CPU's count serves the peak sample at the end too.
  size_t cached = CachedBlocks();
  if (cached >= shared_.batch_blocks()) {
    DrainAllLocked(EmptyCaches::kSkip);  // a fence for a cache without blocks gains none
    cached = 0;
  }
  SlowFill fill;
  size_t overflowed = 0;
  bool extended = false;
  bool mapped = false;  // a new slab or an extension, this hold
  while (fill.blocks < out.size()) {
    // acquire: as in AllocateSlow(), before the re-check.
    if (fill.blocks > 0) epoch = not_full_epoch_.load(std::memory_order_acquire);
    // Another thread may have freed, flushed or extended meanwhile, and an
    // extension leaves its blocks there.
    if (const size_t taken = TakeLocked(out.subspan(fill.blocks))) {
      fill.blocks += taken;
      continue;
    }
    policy_.Observe(epoch);
    // An episode that starts with overflow at its cap cannot take the
    // overflow the rule counts, and the zone would fail from then on while
    // it may still extend: the cap's blocks in use (at least the rule's
    // count, see ZoneOptions::max_overflow_blocks) stand for them.
    const bool capped = overflow_.AtCap() && region_.committed_blocks() < region_.max_blocks();
    if (policy_.ShouldExtend() || capped) {
      // The next hold drains first if other CPUs cached a batch since.
      if (mapped) break;
      if (fill.blocks > 0) {
        cached = CachedBlocks();
        if (cached >= shared_.batch_blocks()) break;
      }
      if (void* block = ExtendLocked()) {
        out[fill.blocks++] = block;
        extended = mapped = true;
        continue;
      }
    }
    const bool maps = overflow_.NextAllocateMaps();
    if (maps && mapped) break;
    bool recycled = false;
    void* const block = overflow_.Allocate(&recycled);
    if (block == nullptr) {
      ++allocation_failures_;
      fill.failed = true;
      break;
    }
    mapped |= maps;
    if (debug_checks_) VerifyOverflowFill(block, recycled);
    policy_.OnOverflowAllocated();
    out[fill.blocks++] = block;
    ++overflowed;
  }
  if (overflowed > 0) {
    // relaxed: a statistic, read by the fast path's peak check.
    overflow_in_use_.store(static_cast<int64_t>(overflow_.stats().blocks_in_use),
                           std::memory_order_relaxed);
  }
  if (overflowed > 0 || extended) NotePeakLocked(cached);
  if (overflowed > 0) PublishSpareLocked();
  return fill;
}

size_t Zone::TakeLocked(std::span<void*> out) {
  const auto max = static_cast<uint32_t>(std::min<size_t>(out.size(), kMaxBatchBlocks));
  const uint32_t n = TakeFromShared(out.data(), max, SlowLock::kHeld);
  if (n == 0) return 0;
  // release: the zone was not full after all; see "Slow-path protocol".
  not_full_epoch_.fetch_add(1, std::memory_order_release);
  ReleaseSpareLocked();
  for (uint32_t i = 0; i < n; ++i) HandOut(out[i], /*filled=*/true);
  return n;
}

// Commits the next segment, keeps its first block for the caller and gives
// the rest to the shared zone. nullptr when refused (max_blocks, budget) or
// the commit failed; the caller then overflows.
void* Zone::ExtendLocked() {
  const size_t old_blocks = region_.committed_blocks();
  const size_t blocks = ChargeExtensionLocked(old_blocks);
  if (blocks == 0) {
    ++extension_refusals_;
    return nullptr;
  }
  const int saved_errno = errno;  // the caller overflows instead
  if (!region_.Grow(blocks)) {
    service_.Refund(PermanentBytes(blocks));
    ++extension_refusals_;
    errno = saved_errno;
    return nullptr;
  }
  ++extensions_;
  policy_.OnExtended();
  // Demand outgrew the zone, so the caches may keep more of it (see
  // CachesBound and ZoneOptions::cpu_cache_max_blocks; the initial-depth
  // term is 0 here because RaiseTotalBound() never lowers the bound).
  if (cache_.has_value()) {
    cache_->RaiseTotalBound(CachesBound(old_blocks + blocks, cache_->num_cpus(),
                                        /*initial_depth=*/0, shared_.batch_blocks()));
  }
  PrepareFreshBlocks(old_blocks + 1, blocks - 1);
  // The zone was full, so no fresh block is left (see AddFresh); the spare
  // goes back below.
  shared_.AddFresh(static_cast<uint32_t>(old_blocks + 1), static_cast<uint32_t>(blocks - 1));
  shared_.CountOut(1);  // the caller's block (its peak sample is the caller's)
  // An extension of one block hands it to the caller and leaves the zone
  // full: the epoch stays, so an overflow freed from now on still counts
  // against the rule (OnExtended() restarted the episode's counts: the next
  // extension waits for as many overflows again), and the spare stays.
  if (blocks > 1) {
    // release: the zone is not full any more; see "Slow-path protocol".
    not_full_epoch_.fetch_add(1, std::memory_order_release);
    ReleaseSpareLocked();
  }
  return HandOut(region_.BlockAt(static_cast<uint32_t>(old_blocks)), /*filled=*/false);
}

size_t Zone::ChargeExtensionLocked(size_t old_blocks) {
  const size_t room = region_.max_blocks() - old_blocks;
  const size_t least = std::min(extension_blocks_, room);
  const size_t grown =
      std::min(std::max(extension_blocks_, old_blocks * extension_growth_percent_ / 100), room);
  if (grown > least && service_.TryCharge(PermanentBytes(grown))) return grown;
  if (least > 0 && service_.TryCharge(PermanentBytes(least))) return least;
  return 0;
}

void Zone::FreeSlow(void* block) {
  if (block == nullptr) return;  // as free(NULL)
  FreeOverflow({&block, 1});
}

void Zone::FreeOverflow(std::span<void* const> blocks) {
  while (!blocks.empty()) {
    SpinLockHolder hold(slow_lock_);
    blocks = blocks.subspan(FreeOverflowLocked(blocks));
  }
}

// Frees blocks until one of them sends its slab back (an unmap, given or
// refused), so a hold makes at most one such call besides the spare's;
// returns how many it freed.
size_t Zone::FreeOverflowLocked(std::span<void* const> blocks) {
  const auto unmaps = [](const OverflowStats& stats) {
    return stats.slabs_released + stats.unmap_failures;
  };
  const size_t unmaps_before = unmaps(overflow_.stats());
  size_t freed = 0;
  while (freed < blocks.size() && unmaps(overflow_.stats()) == unmaps_before) {
    void* const block = blocks[freed++];
    // Filled before Free() may unmap it, and only if handed out: a double
    // free must reach Free()'s check with the slab's free-list link intact.
    if (debug_checks_ && overflow_.IsHandedOut(block)) {
      std::memset(block, kFreedBlockFill, region_.block_size());
    }
    if (!overflow_.Free(block, /*zone_has_free_blocks=*/!shared_.Empty())) {
      CrashOnForeignFree(block);
    }
    policy_.OnOverflowFreed();
  }
  // relaxed: a statistic, read by the fast path's peak check.
  overflow_in_use_.store(static_cast<int64_t>(overflow_.stats().blocks_in_use),
                         std::memory_order_relaxed);
  // Once per hold: a spare kept by the loop is published only here, and
  // the re-check in there releases it if a push came meanwhile.
  PublishSpareLocked();
  return freed;
}

void Zone::PublishSpareLocked() {
  const bool spare = overflow_.has_spare();
  // seq_cst, with the seq_cst re-check below and the pusher's seq_cst CAS
  // and load: a push that missed has_spare_ == true is seen by the re-check
  // (see "Spare-slab protocol").
  has_spare_.store(spare, std::memory_order_seq_cst);
  if (spare && !shared_.Empty(std::memory_order_seq_cst)) ReleaseSpareLocked();
}

void Zone::ReleaseSpareLocked() {
  overflow_.ReleaseSpare();
  // relaxed: written under the lock; see "Spare-slab protocol".
  has_spare_.store(false, std::memory_order_relaxed);
}

// A push found the shared zone's stacks empty: if the zone was full, it has
// free blocks again, which ends the full episode and sends any spare slab
// back (with fresh blocks left it was not full, and this costs only the
// epoch's increment).
void Zone::OnNoLongerFull(SlowLock lock) {
  // release: see "Slow-path protocol".
  not_full_epoch_.fetch_add(1, std::memory_order_release);
  // seq_cst: after the push's seq_cst CAS, paired with PublishSpareLocked();
  // see "Spare-slab protocol".
  if (!has_spare_.load(std::memory_order_seq_cst)) return;
  if (lock == SlowLock::kHeld) {
    slow_lock_.AssertHeld();
    return ReleaseSpareLocked();
  }
  SpinLockHolder hold(slow_lock_);
  ReleaseSpareLocked();
}

void Zone::LockForFork() {
  slow_lock_.Lock();
  if (cache_.has_value()) cache_->LockAllForFork();
}

void Zone::UnlockAfterFork() {
  if (cache_.has_value()) cache_->UnlockAllAfterFork();
  slow_lock_.Unlock();
}

bool Zone::Owns(const void* p) const {
  if (region_.Contains(p)) return true;
  SpinLockHolder hold(slow_lock_);
  return overflow_.Owns(p);
}

void Zone::RaisePeak(int64_t in_use) const {
  // relaxed: a statistic; only needs to end at the maximum.
  int64_t peak = peak_in_use_.load(std::memory_order_relaxed);
  while (in_use > peak &&
         !peak_in_use_.compare_exchange_weak(peak, in_use, std::memory_order_relaxed)) {
  }
}

void Zone::MarkAllocatedIndex(uint32_t index) {
  // relaxed: only this thread owns the block now; the mark is for itself.
  region_.links()[index].store(kAllocatedMark, std::memory_order_relaxed);
}

void Zone::CheckAndMarkFree(void* block) {
  const uint32_t index = region_.IndexOf(block);
  // relaxed: the exchange is atomic, so of two racing frees exactly one sees
  // the allocated mark; the other, like any free of a free block, aborts.
  const uint32_t previous = region_.links()[index].exchange(kFreedMark, std::memory_order_relaxed);
  if (previous != kAllocatedMark) {
    internal::CrashFormat("zone '%s': double free of block %p (index %d)", name_, block,
                          index);
  }
}

void Zone::CrashOnForeignFree(const void* block) const {
  if (region_.InReservedRange(block)) {
    internal::CrashFormat(
        "zone '%s': Free(%p) is not the start of a committed block of %d bytes", name_, block,
        region_.block_size());
  }
  internal::CrashFormat("zone '%s': Free(%p) of a pointer this zone does not own", name_,
                        block);
}

ZoneStats Zone::Stats() const {
  ZoneStats stats;
  stats.name = name_;
  stats.block_size = region_.block_size();
  stats.cpu_cache_mode = std::string(CpuCacheModeName(cpu_cache_mode()));
  size_t cached = 0;
  if (cache_.has_value()) {
    for (int cpu = 0; cpu < cache_->num_cpus(); ++cpu) {
      stats.cpu_caches.push_back(cache_->StatsOf(cpu));
      cached += stats.cpu_caches.back().blocks;
    }
  }
  stats.cached_blocks = cached;
  if (cache_.has_value()) stats.cpu_cache_bound_blocks = cache_->total_bound();
  // Copied before the lock, as the strings and the vector above: nothing
  // that calls operator new runs under it (see "Lock order").
  stats.tag = overflow_tag_;
  SpinLockHolder hold(slow_lock_);
  // Under the lock, as extensions_ below: an extension grows the region
  // under it too, so the capacity and the extension count agree.
  stats.capacity_blocks = region_.committed_blocks();
  stats.permanent_bytes = PermanentBytes(stats.capacity_blocks);
  // relaxed: statistics.
  const int64_t taken = shared_.blocks_out();
  const OverflowStats overflow = overflow_.stats();
  stats.in_use_blocks =
      static_cast<size_t>(std::max<int64_t>(0, taken - static_cast<int64_t>(cached))) +
      overflow.blocks_in_use;
  RaisePeak(static_cast<int64_t>(stats.in_use_blocks));
  stats.peak_in_use_blocks = static_cast<size_t>(peak_in_use_.load(std::memory_order_relaxed));
  stats.allocation_failures = allocation_failures_;
  stats.slow_path_entries = slow_path_entries_;
  for (const CpuCacheStats& cpu : stats.cpu_caches) stats.cache_drains += cpu.drains;
  stats.overflow_blocks_in_use = overflow.blocks_in_use;
  stats.overflow_allocations = overflow.allocations;
  stats.overflow_slabs_live = overflow.slabs_live;
  stats.overflow_slabs_created = overflow.slabs_created;
  stats.overflow_slabs_released = overflow.slabs_released;
  stats.overflow_mapped_bytes = overflow.mapped_bytes;
  stats.overflow_slabs_unreleased = overflow.slabs_unreleased;
  stats.overflow_unmap_failures = overflow.unmap_failures;
  stats.extensions = extensions_;
  stats.extension_refusals = extension_refusals_;
  return stats;
}

}  // namespace zonealloc
