// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/block_region.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc::internal {
namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The whole pages covering [begin, end).
struct PageSpan {
  void* addr;
  size_t bytes;
};
PageSpan PagesCovering(uintptr_t begin, uintptr_t end) {
  const size_t page = PageSize();
  const uintptr_t first = begin / page * page;
  return {reinterpret_cast<void*>(first), RoundUp(end, page) - first};
}

// Words of the batch slots that cover `blocks` blocks: two per slot.
size_t SlotWords(size_t blocks) {
  return 2 * (RoundUp(blocks, BlockRegion::kBlocksPerBatchSlot) / BlockRegion::kBlocksPerBatchSlot);
}

}  // namespace

ExactDivisor ExactDivisor::For(uint64_t d) {
  const int shift = std::countr_zero(d);
  const uint64_t m = d >> shift;
  // Newton's iteration doubles the correct low bits: m * m == 1 mod 8 for
  // odd m gives 3, then 6, 12, 24, 48, 96 >= 64.
  uint64_t inverse = m;
  for (int i = 0; i < 5; ++i) inverse *= 2 - m * inverse;
  return ExactDivisor{.odd_inverse = inverse, .shift = shift, .max_quotient = UINT64_MAX / d};
}

absl::StatusOr<BlockRegion> BlockRegion::Create(PageSource& pages, std::string_view zone_name,
                                                size_t block_size, size_t initial_blocks,
                                                size_t max_blocks) {
  const size_t page = PageSize();
  const size_t links_bytes = RoundUp(max_blocks * sizeof(std::atomic<uint32_t>), page);
  const size_t slots_bytes = RoundUp(SlotWords(max_blocks) * sizeof(std::atomic<uint32_t>), page);
  const size_t bytes = links_bytes + slots_bytes + RoundUp(max_blocks * block_size, page);
  char* reservation =
      static_cast<char*>(pages.Reserve(bytes, absl::StrFormat("zonealloc:%s", zone_name)));
  if (reservation == nullptr) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "zone '%s': cannot reserve %d bytes of address space for %d blocks of %d bytes",
        zone_name, bytes, max_blocks, block_size));
  }
  BlockRegion region(pages, reservation, bytes, links_bytes, slots_bytes, block_size, max_blocks);
  if (!region.Grow(initial_blocks)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("zone '%s': cannot commit %d initial blocks of %d bytes", zone_name,
                        initial_blocks, block_size));
  }
  return region;
}

BlockRegion::BlockRegion(PageSource& pages, char* reservation, size_t reservation_bytes,
                         size_t links_bytes, size_t slots_bytes, size_t block_size,
                         size_t max_blocks)
    : pages_(&pages),
      reservation_(reservation),
      reservation_bytes_(reservation_bytes),
      links_(reinterpret_cast<std::atomic<uint32_t>*>(reservation)),
      batch_slots_(reinterpret_cast<std::atomic<uint32_t>*>(reservation + links_bytes)),
      indexing_{.begin = reinterpret_cast<uintptr_t>(reservation) + links_bytes + slots_bytes,
                .block_size = block_size,
                .divisor = ExactDivisor::For(block_size)},
      max_blocks_(max_blocks) {}

BlockRegion::BlockRegion(BlockRegion&& other) noexcept
    : pages_(other.pages_),
      reservation_(std::exchange(other.reservation_, nullptr)),
      reservation_bytes_(other.reservation_bytes_),
      links_(other.links_),
      batch_slots_(other.batch_slots_),
      indexing_(other.indexing_),
      max_blocks_(other.max_blocks_),
      // relaxed: a moved-from region is not shared with other threads.
      committed_blocks_(other.committed_blocks_.load(std::memory_order_relaxed)) {}

bool BlockRegion::Unmap() {
  if (reservation_ == nullptr) return true;
  if (!pages_->Unmap(reservation_, reservation_bytes_)) return false;
  reservation_ = nullptr;
  return true;
}

BlockRegion::~BlockRegion() {
  if (Unmap()) return;
  ReportToStderr("zonealloc: a zone's %zu-byte reservation at %p stays mapped: %s\n",
                 reservation_bytes_, static_cast<void*>(reservation_), std::strerror(errno));
}

bool BlockRegion::CommitSpan(uintptr_t begin, uintptr_t end) {
  // The page holding `begin`, unless it starts there, was committed with
  // the bytes before it, which may be in use: commit only the pages after.
  const size_t page = PageSize();
  const uintptr_t first = RoundUp(begin, page);
  const uintptr_t last = RoundUp(end, page);
  if (first >= last) return true;  // within pages committed already
  return pages_->Commit(reinterpret_cast<void*>(first), last - first);
}

bool BlockRegion::Prefault(size_t first, size_t n) const {
  if (n == 0) return true;
  const PageSpan pages = PagesCovering(indexing_.begin + first * indexing_.block_size,
                                       indexing_.begin + (first + n) * indexing_.block_size);
  return pages_->Prefault(pages.addr, pages.bytes);
}

bool BlockRegion::CommitWords(std::atomic<uint32_t>* words, size_t old_count, size_t new_count) {
  const auto begin = reinterpret_cast<uintptr_t>(words);
  return CommitSpan(begin + old_count * sizeof(uint32_t), begin + new_count * sizeof(uint32_t));
}

bool BlockRegion::Grow(size_t blocks) {
  // relaxed: Grow() is serialized, so this thread wrote the last value.
  const size_t old_count = committed_blocks_.load(std::memory_order_relaxed);
  if (blocks == 0 || blocks > max_blocks_ - old_count) return false;
  const size_t new_count = old_count + blocks;
  if (!CommitWords(links_, old_count, new_count) ||
      !CommitWords(batch_slots_, SlotWords(old_count), SlotWords(new_count)) ||
      !CommitSpan(indexing_.begin + old_count * indexing_.block_size,
                  indexing_.begin + new_count * indexing_.block_size)) {
    // Pages committed by a half-done Grow() stay committed but unused
    // (never written); the next Grow() commits them again.
    return false;
  }
  // The links and slots need no stores: freshly committed pages read as
  // zero, the representation of std::atomic<uint32_t>(0) (as folly's
  // IndexedMemPool relies on too), and writing them would touch every link
  // page of a large segment before any block is used.
  // release: pairs with committed_blocks()'s acquire (Contains() reads it
  // relaxed, see there).
  committed_blocks_.store(new_count, std::memory_order_release);
  return true;
}

}  // namespace zonealloc::internal
