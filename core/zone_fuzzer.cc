// SPDX-License-Identifier: Apache-2.0
// zone_fuzzer is a libFuzzer target that drives one Zone through a sequence
// of operations decoded from the input and, after every step, checks what
// the zone shows (its blocks, Owns(), Stats()) against a small model of the
// NT guidelines' rules. Build and run it with cmake/fuzz.sh.
//
// Input: 12 header bytes (the zone's options and its service's budget),
// then operations, an opcode byte and its argument bytes each; a byte past
// the end reads as 0. Bytes are read from the front, so a seed can be
// written by hand: see the opcodes in ZoneFuzz::Run(). The seeds in
// core/zone_fuzzer_corpus/ start from the guidelines' example: a zone of 64
// blocks filled, overflowed twice with all of it in use, so it extends
// (guidelines_extend; with CPU caches: _fallback, _cached, _rseq), or with a permanent
// block freed in between, which ends the full episode so it does not
// (guidelines_episode_ends); then caps and refusals (caps) and bulk
// operations (bulk_fallback, bulk_cached).
//
// What is checked, in every CPU cache mode (off, fallback, and rseq where
// the machine supports it; a fuzzer runs on one thread):
//   - every block handed out is distinct from every live block, owned by
//     the zone (Owns), and keeps what was written into it until it is freed;
//   - Stats().in_use_blocks equals the model's live blocks (a single thread
//     is quiet, so the counters are exact), and the peak is at least that;
//   - capacity_blocks starts at initial_blocks and only grows by an
//     extension of max(extension_blocks, extension_growth_percent of the
//     capacity) blocks, or of extension_blocks when the budget refuses that,
//     never past max_blocks;
//   - an Allocate() that extended found every permanent block in use (or
//     fewer than a batch of them in CPU caches: a single thread that
//     migrates leaves some behind) and at least
//     extend_after_overflow_allocations overflow blocks in use (rule
//     (3) of extension_policy.h: all of the episode's overflow still in use),
//     and overflow_allocations >= extensions x that threshold (with an
//     overflow cap, at which the zone extends whatever the episode,
//     >= the threshold once it extended), so a zone that never ran full and
//     overflowed never extends;
//   - overflow slabs: at most one spare beyond the slabs that hold live
//     overflow blocks; after Drain(), when the zone has free permanent blocks
//     and no overflow block is in use, none is mapped (overflow_pool.h,
//     "Release rule", and zone.h, "Spare-slab protocol");
//   - nullptr only at max_overflow_blocks.
// With the CPU caches off the zone is deterministic, and the model predicts
// it exactly: which allocation is permanent, overflow, an extension, a
// refusal (max_blocks or the service's budget) or a failure, by
// ExtensionPolicy's rule with its episodes, and the exact counters.
//
// ZONEALLOC_FUZZ_BREAK_MODEL=1 builds a deliberately wrong model (it forgets
// that freeing a permanent block ends a full episode), so cmake/fuzz.sh can
// show the fuzzer finds a mismatch: the checks can fail.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/internal/block_region.h>
#include <zonealloc/system_profile.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_options.h>
#include <zonealloc/zone_service.h>
#include <zonealloc/zone_stats.h>

#ifndef ZONEALLOC_FUZZ_BREAK_MODEL
#define ZONEALLOC_FUZZ_BREAK_MODEL 0
#endif

namespace zonealloc {
namespace {

[[noreturn]] void Mismatch(const char* what, const char* file, int line, size_t op) {
  std::fprintf(stderr, "zone_fuzzer: model mismatch at %s:%d after operation %zu: %s\n", file,
               line, op, what);
  std::abort();
}
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) Mismatch(#cond, __FILE__, __LINE__, op_count_); \
  } while (0)

// Reads the input from the front; past the end, every byte is 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Next() { return pos_ < size_ ? data_[pos_++] : 0; }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr size_t kMaxLive = 4096;
constexpr size_t kMaxOps = 2048;

enum class Kind : uint8_t { kPermanent, kOverflow, kUnknown };

struct LiveBlock {
  void* p;
  uint64_t id;
  Kind kind;
};

class ZoneFuzz {
 public:
  ZoneFuzz(const ZoneOptions& options, size_t block_size, uint64_t budget, ZoneService& service,
           std::unique_ptr<Zone> zone)
      : service_(service),
        zone_(std::move(zone)),
        exact_(zone_->cpu_cache_mode() == CpuCacheMode::kOff),
        block_size_(block_size),
        budget_(budget),
        max_blocks_(options.max_blocks),
        extension_blocks_(options.extension_blocks != 0 ? options.extension_blocks
                                                        : options.initial_blocks),
        growth_percent_(options.extension_growth_percent),
        threshold_(options.extend_after_overflow_allocations),
        batch_blocks_(
            ResolveZoneOptions(options, SystemProfile::Current())->cpu_cache_batch_blocks),
        max_overflow_(options.max_overflow_blocks),
        capacity_(options.initial_blocks) {
    const ZoneStats stats = zone_->Stats();
    FUZZ_CHECK(stats.capacity_blocks == options.initial_blocks);
    FUZZ_CHECK(stats.block_size == block_size_);
    FUZZ_CHECK(stats.in_use_blocks == 0);
    last_ = stats;
  }

  ~ZoneFuzz() {
    // Everything back: nothing in use, and no overflow slab kept.
    while (!live_.empty()) FreeAt(live_.size() - 1);
    zone_->Drain();
    const ZoneStats stats = CheckStats();
    FUZZ_CHECK(stats.in_use_blocks == 0);
    FUZZ_CHECK(stats.overflow_slabs_live == 0);
    zone_.reset();
  }

  void Run(ByteReader& in) {
    while (!in.done() && op_count_ < kMaxOps) {
      ++op_count_;
      const uint8_t op = in.Next();
      switch (op % 10) {
        case 0:
          AllocateOne();
          break;
        case 1:
          if (!live_.empty()) FreeAt(in.Next() % live_.size());
          break;
        case 2:
          AllocateBulk(1 + in.Next() % 64);
          break;
        case 3: {
          const size_t n = 1 + in.Next() % 64;
          const uint8_t start = in.Next();
          FreeBulk(n, start, /*with_nullptr=*/(op & 0x80) != 0);
          break;
        }
        case 4:
          Drain();
          break;
        case 5: {  // a burst past capacity, one Allocate() at a time
          const size_t target = std::min(kMaxLive, last_.capacity_blocks + 1 + in.Next() % 32);
          while (live_.size() < target) {
            if (!AllocateOne()) break;
          }
          break;
        }
        case 6:  // the newest blocks (overflow, typically)
          for (size_t n = 1 + in.Next() % 64; n > 0 && !live_.empty(); --n) {
            FreeAt(live_.size() - 1);
          }
          break;
        case 7:
          while (!live_.empty()) FreeAt(live_.size() - 1);
          Drain();
          break;
        case 8:
          Sweep();
          break;
        case 9:  // the oldest blocks (permanent, typically)
          for (size_t n = 1 + in.Next() % 64; n > 0 && !live_.empty(); --n) FreeAt(0);
          break;
      }
      const ZoneStats stats = CheckStats();
      if (trace_) {
        std::fprintf(stderr,
                     "op %zu (%u): live %zu; zone: capacity %zu, overflow %zu, extensions %zu, "
                     "refusals %zu, cached %zu\n",
                     op_count_, op % 10, live_.size(), stats.capacity_blocks,
                     stats.overflow_blocks_in_use, stats.extensions, stats.extension_refusals,
                     stats.cached_blocks);
        if (exact_) {
          std::fprintf(stderr, "  model: capacity %zu, free %zu, overflow %zu, episode %zu/%zu%s\n",
                       capacity_, free_permanent_, overflow_live_, episode_overflow_allocations_,
                       episode_overflow_frees_, episode_ended_ ? ", ended" : "");
        }
      }
    }
  }

 private:
  // --- The model of the zone with CPU caches off (exact_). ---

  // What the next allocation gets, by the zone's rules; applies it to the
  // model. kNone: nullptr.
  enum class Outcome { kPermanent, kOverflow, kExtended, kNone };
  Outcome ModelAllocate() {
    if (free_permanent_ > 0) {
      --free_permanent_;
      return Outcome::kPermanent;
    }
    // The slow path: a new full episode when the zone was not full since
    // the last one (a permanent block was freed).
    if (episode_ended_) {
      episode_ended_ = false;
      episode_overflow_allocations_ = 0;
      episode_overflow_frees_ = 0;
    }
    // At the overflow cap the zone extends as the rule would once that many
    // overflow blocks are in use (zone_options.h, max_overflow_blocks).
    const bool capped =
        max_overflow_ != 0 && overflow_live_ == max_overflow_ && capacity_ < max_blocks_;
    if ((episode_overflow_allocations_ >= threshold_ && episode_overflow_frees_ == 0) || capped) {
      const auto affordable = [&](size_t step) {
        return step > 0 && internal::BlockRegion::PermanentBytes(block_size_, step) <=
                               budget_ - charged_;
      };
      const size_t grown = GrownStep(capacity_);
      const size_t step = affordable(grown) ? grown : LeastStep(capacity_);
      if (affordable(step)) {
        capacity_ += step;
        charged_ += internal::BlockRegion::PermanentBytes(block_size_, step);
        free_permanent_ += step - 1;
        episode_overflow_allocations_ = 0;
        episode_overflow_frees_ = 0;
        // An extension that leaves free blocks ends the full episode; one
        // of a single block, which the caller gets, leaves the zone full,
        // so the episode goes on and later overflow frees count against
        // rule (3). (The fuzzer found the zone ending it in both cases.)
        episode_ended_ = step > 1;
        ++extensions_;
        return Outcome::kExtended;
      }
      ++refusals_;
    }
    if (max_overflow_ != 0 && overflow_live_ == max_overflow_) {
      ++failures_;
      return Outcome::kNone;
    }
    ++overflow_live_;
    ++episode_overflow_allocations_;
    return Outcome::kOverflow;
  }

  // An extension's steps (ZoneOptions::extension_growth_percent): the grown
  // one, else the least when the budget refuses the grown one.
  size_t GrownStep(size_t capacity) const {
    return std::min(std::max(extension_blocks_, capacity * growth_percent_ / 100),
                    max_blocks_ - capacity);
  }
  size_t LeastStep(size_t capacity) const {
    return std::min(extension_blocks_, max_blocks_ - capacity);
  }

  void ModelFree(Kind kind) {
    if (kind == Kind::kOverflow) {
      --overflow_live_;
      ++episode_overflow_frees_;
    } else {
      ++free_permanent_;
#if !ZONEALLOC_FUZZ_BREAK_MODEL
      episode_ended_ = true;  // a free onto the free list: not full any more
#endif
    }
  }

  // --- Operations. ---

  bool AllocateOne() {
    if (live_.size() >= kMaxLive) return false;
    const ZoneStats before = zone_->Stats();
    const Outcome expected = exact_ ? ModelAllocate() : Outcome::kNone;
    void* p = zone_->Allocate();
    const ZoneStats after = zone_->Stats();
    if (exact_) FUZZ_CHECK((p == nullptr) == (expected == Outcome::kNone));
    if (p == nullptr) {
      // Only past every cap: max_overflow_blocks (the page source is mmap).
      FUZZ_CHECK(max_overflow_ != 0 && after.overflow_blocks_in_use == max_overflow_);
      FUZZ_CHECK(after.allocation_failures == before.allocation_failures + 1);
      FUZZ_CHECK(after.capacity_blocks == before.capacity_blocks);
      return false;
    }
    Kind kind = Kind::kUnknown;
    if (after.extensions != before.extensions) {
      FUZZ_CHECK(after.extensions == before.extensions + 1);
      // Every permanent block in use but for fewer than a batch in CPU
      // caches (zone.h, "Full-zone path"), and the episode's overflow too.
      FUZZ_CHECK(before.in_use_blocks - before.overflow_blocks_in_use + before.cached_blocks ==
                 before.capacity_blocks);
      FUZZ_CHECK(before.cached_blocks < batch_blocks_);
      FUZZ_CHECK(before.overflow_blocks_in_use >= threshold_);
      const size_t step = after.capacity_blocks - before.capacity_blocks;
      FUZZ_CHECK(step == GrownStep(before.capacity_blocks) ||
                 step == LeastStep(before.capacity_blocks));
      kind = Kind::kPermanent;
    } else {
      FUZZ_CHECK(after.capacity_blocks == before.capacity_blocks);
      if (after.overflow_blocks_in_use == before.overflow_blocks_in_use + 1) {
        kind = Kind::kOverflow;
      } else {
        FUZZ_CHECK(after.overflow_blocks_in_use == before.overflow_blocks_in_use);
        kind = Kind::kPermanent;
      }
    }
    if (exact_) {
      FUZZ_CHECK(kind == (expected == Outcome::kOverflow ? Kind::kOverflow : Kind::kPermanent));
      FUZZ_CHECK((expected == Outcome::kExtended) == (after.extensions != before.extensions));
    }
    Adopt(p, kind);
    return true;
  }

  void AllocateBulk(size_t n) {
    n = std::min(n, kMaxLive - live_.size());
    if (n == 0) return;
    std::vector<void*> blocks(n, nullptr);
    std::vector<Outcome> expected;
    if (exact_) {
      for (size_t i = 0; i < n; ++i) {
        expected.push_back(ModelAllocate());
        if (expected.back() == Outcome::kNone) break;  // AllocateBulk stops there
      }
    }
    const size_t got = zone_->AllocateBulk(std::span<void*>(blocks));
    FUZZ_CHECK(got <= n);
    if (exact_) {
      const size_t want = expected.back() == Outcome::kNone ? expected.size() - 1 : n;
      FUZZ_CHECK(got == want);
    }
    for (size_t i = 0; i < got; ++i) {
      FUZZ_CHECK(blocks[i] != nullptr);
      Kind kind = Kind::kUnknown;
      if (exact_) kind = expected[i] == Outcome::kOverflow ? Kind::kOverflow : Kind::kPermanent;
      Adopt(blocks[i], kind);
    }
    for (size_t i = got; i < n; ++i) FUZZ_CHECK(blocks[i] == nullptr);
    if (got < n) FUZZ_CHECK(max_overflow_ != 0);
  }

  void FreeAt(size_t i) {
    const LiveBlock block = live_[i];
    CheckContents(block);
    live_.erase(live_.begin() + static_cast<ptrdiff_t>(i));
    addresses_.erase(block.p);
    if (exact_) ModelFree(block.kind);
    zone_->Free(block.p);
  }

  // Frees n live blocks from `start` on (wrapping), optionally with a
  // nullptr among them, in one FreeBulk().
  void FreeBulk(size_t n, uint8_t start, bool with_nullptr) {
    if (live_.empty()) return;
    n = std::min(n, live_.size());
    const size_t first = start % live_.size();
    std::vector<void*> blocks;
    std::vector<bool> taken(live_.size(), false);
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (first + k) % live_.size();
      CheckContents(live_[i]);
      taken[i] = true;
      blocks.push_back(live_[i].p);
      if (exact_) ModelFree(live_[i].kind);
      addresses_.erase(live_[i].p);
    }
    if (with_nullptr) blocks.insert(blocks.begin() + static_cast<ptrdiff_t>(n / 2), nullptr);
    std::vector<LiveBlock> kept;
    for (size_t i = 0; i < live_.size(); ++i) {
      if (!taken[i]) kept.push_back(live_[i]);
    }
    live_ = std::move(kept);
    zone_->FreeBulk(std::span<void* const>(blocks));
  }

  void Drain() {
    zone_->Drain();
    const ZoneStats stats = CheckStats();
    FUZZ_CHECK(stats.cached_blocks == 0);
    // The release rule: with free permanent blocks and no overflow block in
    // use, no slab stays mapped, not even the spare.
    const size_t permanent_in_use = stats.in_use_blocks - stats.overflow_blocks_in_use;
    if (permanent_in_use < stats.capacity_blocks && stats.overflow_blocks_in_use == 0) {
      FUZZ_CHECK(stats.overflow_slabs_live == 0);
    }
  }

  void Sweep() {
    for (const LiveBlock& block : live_) {
      FUZZ_CHECK(zone_->Owns(block.p));
      CheckContents(block);
    }
    int local = 0;
    FUZZ_CHECK(!zone_->Owns(&local));
    FUZZ_CHECK(!zone_->Owns(nullptr));
  }

  // --- Checks. ---

  void Adopt(void* p, Kind kind) {
    FUZZ_CHECK(reinterpret_cast<uintptr_t>(p) % 8 == 0);
    FUZZ_CHECK(addresses_.insert(p).second);  // distinct from every live block
    FUZZ_CHECK(zone_->Owns(p));
    const LiveBlock block{p, ++next_id_, kind};
    // The block's first and last 8 bytes carry its id until it is freed.
    std::memcpy(p, &block.id, sizeof(block.id));
    std::memcpy(static_cast<char*>(p) + block_size_ - sizeof(block.id), &block.id,
                sizeof(block.id));
    live_.push_back(block);
  }

  void CheckContents(const LiveBlock& block) {
    uint64_t head, tail;
    std::memcpy(&head, block.p, sizeof(head));
    std::memcpy(&tail, static_cast<const char*>(block.p) + block_size_ - sizeof(tail),
                sizeof(tail));
    FUZZ_CHECK(head == block.id);
    FUZZ_CHECK(tail == block.id);
  }

  ZoneStats CheckStats() {
    const ZoneStats stats = zone_->Stats();
    FUZZ_CHECK(stats.in_use_blocks == live_.size());
    FUZZ_CHECK(stats.peak_in_use_blocks >= stats.in_use_blocks);
    FUZZ_CHECK(stats.capacity_blocks <= max_blocks_);
    FUZZ_CHECK(stats.capacity_blocks >= last_.capacity_blocks);
    // Each extension follows that many overflows of its own, but at the
    // overflow cap, whose blocks in use (at least that many) stand for them.
    if (max_overflow_ == 0) {
      FUZZ_CHECK(stats.overflow_allocations >= stats.extensions * threshold_);
    } else if (stats.extensions > 0) {
      FUZZ_CHECK(stats.overflow_allocations >= threshold_);
    }
    FUZZ_CHECK(stats.overflow_slabs_unreleased == 0);
    // Every live slab holds a live overflow block, but for one spare.
    FUZZ_CHECK(stats.overflow_slabs_live <= stats.overflow_blocks_in_use + 1);
    if (max_overflow_ != 0) FUZZ_CHECK(stats.overflow_blocks_in_use <= max_overflow_);
    FUZZ_CHECK(stats.permanent_bytes ==
               internal::BlockRegion::PermanentBytes(block_size_, stats.capacity_blocks));
    FUZZ_CHECK(service_.permanent_bytes() == stats.permanent_bytes);
    FUZZ_CHECK(service_.permanent_bytes() <= budget_);
    if (exact_) {
      FUZZ_CHECK(stats.capacity_blocks == capacity_);
      FUZZ_CHECK(stats.overflow_blocks_in_use == overflow_live_);
      FUZZ_CHECK(stats.in_use_blocks - stats.overflow_blocks_in_use ==
                 capacity_ - free_permanent_);
      FUZZ_CHECK(stats.extensions == extensions_);
      FUZZ_CHECK(stats.extension_refusals == refusals_);
      FUZZ_CHECK(stats.allocation_failures == failures_);
      FUZZ_CHECK(stats.cached_blocks == 0);
      // No caches: the free list is exact, and so is the release rule.
      if (free_permanent_ > 0) FUZZ_CHECK(stats.overflow_slabs_live <= overflow_live_);
    }
    last_ = stats;
    return stats;
  }

  ZoneService& service_;
  std::unique_ptr<Zone> zone_;
  const bool exact_;
  const size_t block_size_;
  const uint64_t budget_;
  const size_t max_blocks_;
  const size_t extension_blocks_;
  const size_t growth_percent_;
  const size_t threshold_;
  const size_t batch_blocks_;  // cpu_cache_batch_blocks, resolved (at least 1)
  const size_t max_overflow_;

  std::vector<LiveBlock> live_;  // oldest first
  std::unordered_set<void*> addresses_;
  uint64_t next_id_ = 0;
  size_t op_count_ = 0;
  ZoneStats last_;
  // ZONE_FUZZER_TRACE set: one line per operation on stderr.
  const bool trace_ = std::getenv("ZONE_FUZZER_TRACE") != nullptr;

  // The model (exact_ only).
  size_t capacity_;
  uint64_t charged_ = 0;  // set by the caller to the initial segment's bytes
  size_t free_permanent_ = 0;
  size_t overflow_live_ = 0;
  bool episode_ended_ = false;
  size_t episode_overflow_allocations_ = 0;
  size_t episode_overflow_frees_ = 0;
  size_t extensions_ = 0;
  size_t refusals_ = 0;
  size_t failures_ = 0;

 public:
  void StartModel() {
    charged_ = internal::BlockRegion::PermanentBytes(block_size_, capacity_);
    free_permanent_ = capacity_;
  }
};

void RunOne(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t flags = in.Next();
  ZoneOptions options;
  options.name = "fuzz";
  // flags: bit 0 caches on (fallback, or rseq with bit 7 where supported);
  // bit 1 sizes each CPU's cache from bits 2..6 (1..32 blocks) instead of
  // the default, which leaves small zones on many CPUs without caches.
  options.cpu_cache = CpuCacheMode::kOff;
  if ((flags & 1) != 0) {
    options.cpu_cache = (flags & 0x80) != 0 && RseqSupport().ok() ? CpuCacheMode::kRseq
                                                                  : CpuCacheMode::kFallback;
    if ((flags & 2) != 0) options.cpu_cache_blocks = 1 + (flags >> 2) % 32;
  }
  options.block_size = 1 + in.Next();                            // 1..256
  constexpr size_t kAlignments[] = {8, 16, 64, 8};
  options.alignment = kAlignments[in.Next() % 4];
  options.initial_blocks = 1 + in.Next() % 128;                   // 1..128
  options.max_blocks = options.initial_blocks + in.Next();        // + 0..255
  options.extension_blocks = in.Next() % 65;                      // 0: initial_blocks
  options.extension_growth_percent = in.Next() % 101;             // 0: fixed steps
  options.extend_after_overflow_allocations = 1 + in.Next() % 4;  // 1..4
  const uint8_t overflow_cap = in.Next();
  options.max_overflow_blocks = overflow_cap < 128 ? 0 : overflow_cap - 127;  // 0: unlimited
  if (options.max_overflow_blocks != 0 && options.max_blocks > options.initial_blocks) {
    // Below the rule's count the zone could never extend: refused (zone_options.h).
    options.max_overflow_blocks =
        std::max(options.max_overflow_blocks, options.extend_after_overflow_allocations);
  }
  options.overflow_slab_blocks = in.Next() % 17;                  // 0: the default
  const uint8_t budget_blocks = in.Next();
  const uint8_t budget_slack = in.Next();

  const size_t granule = std::max<size_t>(options.alignment, 8);
  const size_t block_size = (options.block_size + granule - 1) / granule * granule;
  const uint64_t initial_bytes =
      internal::BlockRegion::PermanentBytes(block_size, options.initial_blocks);
  // 255: one byte short of the initial segment, so the zone is refused.
  const uint64_t budget =
      budget_blocks == 255
          ? initial_bytes - 1
          : internal::BlockRegion::PermanentBytes(block_size,
                                                  options.initial_blocks + 2u * budget_blocks) +
                budget_slack % block_size;

  absl::StatusOr<std::unique_ptr<ZoneService>> service =
      ZoneService::Create({.name = "fuzz", .permanent_budget_bytes = budget});
  if (!service.ok()) std::abort();
  absl::StatusOr<std::unique_ptr<Zone>> zone = (*service)->CreateZone(options);
  if (budget_blocks == 255) {
    if (zone.ok() || zone.status().code() != absl::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "zone_fuzzer: a zone past its service's budget was not refused\n");
      std::abort();
    }
    return;
  }
  if (!zone.ok()) {
    std::fprintf(stderr, "zone_fuzzer: CreateZone failed: %s\n",
                 std::string(zone.status().message()).c_str());
    std::abort();
  }
  {
    ZoneFuzz fuzz(options, block_size, budget, **service, *std::move(zone));
    fuzz.StartModel();
    fuzz.Run(in);
  }  // the zone goes before its service
}

}  // namespace
}  // namespace zonealloc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zonealloc::RunOne(data, size);
  return 0;
}
