// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/overflow_pool.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include <zonealloc/internal/checks.h>
#include <zonealloc/internal/crash_format.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc {

// Lives at the start of each slab. Free blocks inside a slab are linked
// through their first word; never-used blocks are taken in address order
// from `untouched` so a new slab costs no up-front linking. A bitmap at the
// end of the slab has a bit per block, set while the block is in use, so
// Free() catches a double free at once however large the slab.
//
// Layout of a slab of `bytes`:
//   [Slab, padded to the alignment][blocks x block_size][unused][in-use bitmap]
struct OverflowPool::Slab {
  static constexpr uint64_t kMagic = 0x5A4F4E454F564652;  // "ZONEOVFR"
  uint64_t magic;
  char tag[32];  // the owner, for anyone reading a core dump
  Slab* prev;    // on with_free_ or unreleased_
  Slab* next;
  void* free_list;
  size_t bytes;      // of the mapping
  size_t blocks;     // BlocksIn(bytes)
  size_t untouched;  // blocks [blocks - untouched, blocks) never handed out
  size_t in_use;
};

namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

size_t BitmapBytes(size_t blocks) { return RoundUp(blocks, 64) / 8; }

// with_free_ and unreleased_ are intrusive doubly linked lists of slabs.
template <typename Slab>
void Push(Slab*& list, Slab* slab) {
  slab->prev = nullptr;
  slab->next = list;
  if (list != nullptr) list->prev = slab;
  list = slab;
}

template <typename Slab>
void Remove(Slab*& list, Slab* slab) {
  if (slab->prev != nullptr) {
    slab->prev->next = slab->next;
  } else {
    list = slab->next;
  }
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  slab->prev = slab->next = nullptr;
}

}  // namespace

OverflowPool::OverflowPool(PageSource& pages, std::string tag, size_t block_size,
                           size_t alignment, size_t slab_blocks, size_t max_blocks_in_use,
                           size_t max_slabs)
    : pages_(pages),
      tag_(std::move(tag)),
      block_size_(block_size),
      first_block_offset_(RoundUp(sizeof(Slab), alignment)),
      base_slab_bytes_(RoundUp(first_block_offset_ + slab_blocks * block_size +
                                   BitmapBytes(slab_blocks),
                               PageSize())),
      max_slab_bytes_(std::max(base_slab_bytes_, kMaxSlabBytes)),
      max_blocks_in_use_(max_blocks_in_use),
      slabs_(max_slabs) {
  internal::CreateBlockPool(this);
}

OverflowPool::~OverflowPool() {
  // A second pass because a slab refused in the first may lie inside a
  // mapping the kernel merged with its neighbours, and be a whole mapping,
  // which needs no split, once they are gone.
  int error = 0;
  internal::DestroyBlockPool(this);
  for (const internal::SlabIndex::Range& range : slabs_.ranges()) {
    internal::UnpoisonBeforeUnmap(reinterpret_cast<void*>(range.begin), range.bytes);
  }
  for (int pass = 0; pass < 2; ++pass) {
    // From the last, so an erase moves only the refused ones after it.
    for (size_t i = slabs_.ranges().size(); i-- > 0;) {
      const internal::SlabIndex::Range range = slabs_.ranges()[i];
      if (pages_.Unmap(reinterpret_cast<void*>(range.begin), range.bytes)) {
        slabs_.Erase(range.begin);
      } else {
        error = errno;
      }
    }
  }
  if (slabs_.ranges().empty()) return;
  size_t bytes = 0;
  for (const internal::SlabIndex::Range& range : slabs_.ranges()) bytes += range.bytes;
  internal::ReportToStderr(
      "zonealloc: overflow '%s': %zu slabs (%zu bytes) stay mapped, the page source "
      "refused to unmap them: %s\n",
      tag_.c_str(), slabs_.ranges().size(), bytes, std::strerror(error));
}

size_t OverflowPool::BlocksIn(size_t slab_bytes) const {
  // The most blocks that leave room for their bitmap: a bit each, in whole
  // words, so at most one block fewer than room / (block_size + 1/8).
  const size_t room = slab_bytes - first_block_offset_;
  size_t blocks = room * 8 / (8 * block_size_ + 1);
  if (blocks * block_size_ + BitmapBytes(blocks) > room) --blocks;
  return blocks;
}

size_t OverflowPool::IndexOf(const Slab* slab, const void* block) const {
  return (reinterpret_cast<uintptr_t>(block) - reinterpret_cast<uintptr_t>(slab) -
          first_block_offset_) / block_size_;
}

uint64_t* OverflowPool::InUseBitmap(Slab* slab) {
  return reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(slab) + slab->bytes -
                                     BitmapBytes(slab->blocks));
}

OverflowPool::Slab* OverflowPool::SlabOf(const void* p) const {
  const auto address = reinterpret_cast<uintptr_t>(p);
  const internal::SlabIndex::Range* range = slabs_.Find(address);
  if (range == nullptr) return nullptr;
  const uintptr_t offset = address - range->begin;
  if (offset < first_block_offset_) return nullptr;
  const uintptr_t block_offset = offset - first_block_offset_;
  if (block_offset % block_size_ != 0 || block_offset / block_size_ >= BlocksIn(range->bytes)) {
    return nullptr;
  }
  return reinterpret_cast<Slab*>(range->begin);
}

bool OverflowPool::Owns(const void* p) const { return SlabOf(p) != nullptr; }

bool OverflowPool::IsHandedOut(const void* p) const {
  Slab* slab = SlabOf(p);
  if (slab == nullptr || slab->magic != Slab::kMagic) return false;
  const size_t index = IndexOf(slab, p);
  return (InUseBitmap(slab)[index / 64] >> (index % 64) & 1) != 0;
}

OverflowPool::Slab* OverflowPool::MapSlab() {
  const size_t bytes = std::clamp(stats_.mapped_bytes, base_slab_bytes_, max_slab_bytes_);
  if (!slabs_.Reserve()) return nullptr;
  void* memory = pages_.Map(bytes, PageSize(), tag_);
  if (memory == nullptr) {
    slabs_.ReleaseIfEmpty();  // its first Reserve() may have mapped it
    return nullptr;
  }
  auto* slab = new (memory) Slab{.magic = Slab::kMagic,
                                 .tag = {},
                                 .prev = nullptr,
                                 .next = nullptr,
                                 .free_list = nullptr,
                                 .bytes = bytes,
                                 .blocks = BlocksIn(bytes),
                                 .untouched = BlocksIn(bytes),
                                 .in_use = 0};
  std::memcpy(slab->tag, tag_.data(), std::min(tag_.size(), sizeof(slab->tag) - 1));
  internal::PoisonFreeBlock(reinterpret_cast<char*>(slab) + first_block_offset_,
                            slab->blocks * block_size_);
  slabs_.Insert({.begin = reinterpret_cast<uintptr_t>(slab), .bytes = bytes});
  ++stats_.slabs_created;
  ++stats_.slabs_live;
  stats_.mapped_bytes += bytes;
  return slab;
}

// False, counted, when the page source refuses: the slab stays mapped and live.
bool OverflowPool::UnmapSlab(Slab* slab) {
  const size_t bytes = slab->bytes;
  const size_t blocks = slab->blocks;
  // Its addresses may be mapped again for anything.
  internal::UnpoisonBeforeUnmap(slab, bytes);
  if (!pages_.Unmap(slab, bytes)) {
    internal::PoisonFreeBlock(reinterpret_cast<char*>(slab) + first_block_offset_,
                              blocks * block_size_);
    ++stats_.unmap_failures;
    return false;
  }
  slabs_.Erase(reinterpret_cast<uintptr_t>(slab));
  ++stats_.slabs_released;
  --stats_.slabs_live;
  stats_.mapped_bytes -= bytes;
  return true;
}

// Gives back an empty slab, on no list, with any unreleased ones.
void OverflowPool::Release(Slab* slab) {
  Push(unreleased_, slab);
  RetryUnreleased();
}

void OverflowPool::RetryUnreleased() {
  Slab* slab = std::exchange(unreleased_, nullptr);
  stats_.slabs_unreleased = 0;
  while (slab != nullptr) {
    Slab* next = slab->next;  // read before the unmap
    if (!UnmapSlab(slab)) {
      Push(unreleased_, slab);
      ++stats_.slabs_unreleased;
    }
    slab = next;
  }
}

void* OverflowPool::Allocate(bool* recycled) {
  if (AtCap()) return nullptr;
  Slab* slab = with_free_;
  if (slab == nullptr) {
    if (unreleased_ != nullptr) {
      slab = unreleased_;
      Remove(unreleased_, slab);
      --stats_.slabs_unreleased;
    } else if (spare_ != nullptr) {
      slab = std::exchange(spare_, nullptr);
    } else if ((slab = MapSlab()) == nullptr) {
      return nullptr;
    }
    Push(with_free_, slab);
  }
  void* block;
  if (recycled != nullptr) *recycled = slab->free_list != nullptr;
  if (slab->free_list != nullptr) {
    block = slab->free_list;
    internal::UnpoisonBlock(block, block_size_);  // the allocator reads its link first
    slab->free_list = *static_cast<void**>(block);
  } else {
    block = reinterpret_cast<char*>(slab) + first_block_offset_ +
            (slab->blocks - slab->untouched) * block_size_;
    --slab->untouched;
  }
  internal::BlockHandedOut(this, block, block_size_);
  const size_t index = IndexOf(slab, block);
  InUseBitmap(slab)[index / 64] |= uint64_t{1} << (index % 64);
  if (++slab->in_use == slab->blocks) Remove(with_free_, slab);
  ++stats_.blocks_in_use;
  ++stats_.allocations;
  return block;
}

bool OverflowPool::Free(void* block, bool zone_has_free_blocks) {
  Slab* slab = SlabOf(block);
  if (slab == nullptr) return false;
  const size_t index = IndexOf(slab, block);
  const uint64_t bit = uint64_t{1} << (index % 64);
  if (slab->magic != Slab::kMagic || (InUseBitmap(slab)[index / 64] & bit) == 0) {
    internal::CrashFormat(
        "overflow slab of '%s': a block freed twice or never handed out, or a corrupt slab", tag_);
  }
  InUseBitmap(slab)[index / 64] &= ~bit;
  if (slab->in_use == slab->blocks) Push(with_free_, slab);
  *static_cast<void**>(block) = slab->free_list;
  slab->free_list = block;
  internal::BlockFreed(this, block, block_size_);
  --stats_.blocks_in_use;
  if (--slab->in_use > 0) return true;

  // The slab is empty: release it, or keep it as the spare while full.
  Remove(with_free_, slab);
  if (zone_has_free_blocks || spare_ != nullptr) {
    Release(slab);
  } else {
    spare_ = slab;
  }
  return true;
}

void OverflowPool::ReleaseSpare() {
  if (spare_ != nullptr) {
    Release(std::exchange(spare_, nullptr));
  } else if (unreleased_ != nullptr) {
    RetryUnreleased();
  }
}

}  // namespace zonealloc
