#include <zonealloc/overflow_pool.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include <zonealloc/internal/checks.h>

namespace zonealloc {

// Lives at the start of each slab. Free blocks inside a slab are linked
// through their first word; never-used blocks are taken in address order
// from `untouched` so a new slab costs no up-front linking.
struct OverflowPool::Slab {
  static constexpr uint64_t kMagic = 0x5A4F4E454F564652;  // "ZONEOVFR"
  uint64_t magic;
  char tag[32];  // the owner, for anyone reading a core dump
  Slab* prev_with_free;
  Slab* next_with_free;
  void* free_list;
  size_t untouched;  // blocks [blocks - untouched, blocks) never handed out
  size_t in_use;
};

namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

OverflowPool::OverflowPool(PageSource& pages, std::string tag, size_t block_size,
                           size_t alignment, size_t slab_blocks, size_t max_blocks_in_use)
    : pages_(pages),
      tag_(std::move(tag)),
      block_size_(block_size),
      first_block_offset_(RoundUp(sizeof(Slab), alignment)),
      slab_bytes_(std::bit_ceil(std::max(PageSize(), first_block_offset_ + slab_blocks * block_size))),
      slab_blocks_((slab_bytes_ - first_block_offset_) / block_size),
      max_blocks_in_use_(max_blocks_in_use) {}

OverflowPool::~OverflowPool() {
  for (uintptr_t slab : slabs_) pages_.Unmap(reinterpret_cast<void*>(slab), slab_bytes_);
}

OverflowPool::Slab* OverflowPool::SlabOf(const void* p) const {
  const auto address = reinterpret_cast<uintptr_t>(p);
  const uintptr_t base = address & ~(uintptr_t{slab_bytes_} - 1);
  if (!slabs_.contains(base)) return nullptr;
  const uintptr_t offset = address - base;
  if (offset < first_block_offset_ || (offset - first_block_offset_) % block_size_ != 0 ||
      (offset - first_block_offset_) / block_size_ >= slab_blocks_) {
    return nullptr;
  }
  return reinterpret_cast<Slab*>(base);
}

bool OverflowPool::Owns(const void* p) const { return SlabOf(p) != nullptr; }

OverflowPool::Slab* OverflowPool::MapSlab() {
  void* memory = pages_.Map(slab_bytes_, slab_bytes_, tag_);
  if (memory == nullptr) return nullptr;
  auto* slab = new (memory) Slab{.magic = Slab::kMagic,
                                 .tag = {},
                                 .prev_with_free = nullptr,
                                 .next_with_free = nullptr,
                                 .free_list = nullptr,
                                 .untouched = slab_blocks_,
                                 .in_use = 0};
  std::memcpy(slab->tag, tag_.data(), std::min(tag_.size(), sizeof(slab->tag) - 1));
  slabs_.insert(reinterpret_cast<uintptr_t>(slab));
  ++stats_.slabs_created;
  ++stats_.slabs_live;
  return slab;
}

void OverflowPool::UnmapSlab(Slab* slab) {
  slabs_.erase(reinterpret_cast<uintptr_t>(slab));
  slab->magic = 0;
  pages_.Unmap(slab, slab_bytes_);
  ++stats_.slabs_released;
  --stats_.slabs_live;
}

void OverflowPool::LinkWithFree(Slab* slab) {
  slab->prev_with_free = nullptr;
  slab->next_with_free = with_free_;
  if (with_free_ != nullptr) with_free_->prev_with_free = slab;
  with_free_ = slab;
}

void OverflowPool::UnlinkWithFree(Slab* slab) {
  if (slab->prev_with_free != nullptr) {
    slab->prev_with_free->next_with_free = slab->next_with_free;
  } else {
    with_free_ = slab->next_with_free;
  }
  if (slab->next_with_free != nullptr) slab->next_with_free->prev_with_free = slab->prev_with_free;
  slab->prev_with_free = slab->next_with_free = nullptr;
}

void* OverflowPool::Allocate() {
  if (max_blocks_in_use_ != 0 && stats_.blocks_in_use >= max_blocks_in_use_) return nullptr;
  Slab* slab = with_free_;
  if (slab == nullptr) {
    slab = std::exchange(spare_, nullptr);
    if (slab == nullptr) slab = MapSlab();
    if (slab == nullptr) return nullptr;
    LinkWithFree(slab);
  }
  void* block;
  if (slab->free_list != nullptr) {
    block = slab->free_list;
    slab->free_list = *static_cast<void**>(block);
  } else {
    block = reinterpret_cast<char*>(slab) + first_block_offset_ +
            (slab_blocks_ - slab->untouched) * block_size_;
    --slab->untouched;
  }
  if (++slab->in_use == slab_blocks_) UnlinkWithFree(slab);
  ++stats_.blocks_in_use;
  ++stats_.allocations;
  return block;
}

bool OverflowPool::Free(void* block, bool zone_has_free_blocks) {
  Slab* slab = SlabOf(block);
  if (slab == nullptr) return false;
  const size_t index =
      (reinterpret_cast<uintptr_t>(block) - reinterpret_cast<uintptr_t>(slab) - first_block_offset_) /
      block_size_;
  if (slab->magic != Slab::kMagic || slab->in_use == 0 || index >= slab_blocks_ - slab->untouched) {
    internal::Crash("overflow slab of '" + tag_ +
                    "': a block freed twice or never handed out, or a corrupt slab");
  }
  if constexpr (internal::kDebugChecks) {
    for (void* free = slab->free_list; free != nullptr; free = *static_cast<void**>(free)) {
      if (free == block) internal::Crash("double free of overflow block of '" + tag_ + "'");
    }
  }
  if (slab->in_use == slab_blocks_) LinkWithFree(slab);
  *static_cast<void**>(block) = slab->free_list;
  slab->free_list = block;
  --stats_.blocks_in_use;
  if (--slab->in_use > 0) return true;

  // The slab is empty: release it, or keep it as the spare while full.
  UnlinkWithFree(slab);
  if (zone_has_free_blocks || spare_ != nullptr) {
    UnmapSlab(slab);
  } else {
    spare_ = slab;
  }
  return true;
}

void OverflowPool::ReleaseSpare() {
  if (spare_ != nullptr) UnmapSlab(std::exchange(spare_, nullptr));
}

}  // namespace zonealloc
