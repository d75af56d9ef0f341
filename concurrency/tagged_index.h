// SPDX-License-Identifier: Apache-2.0
// TaggedIndex is the head word of a lock-free free list: a 32-bit block index
// and a 32-bit version tag packed into one 64-bit value, so both are read and
// compare-and-swapped together by ordinary 64-bit atomics.
//
// Why indices and not pointers: a 64-bit pointer leaves no room for a tag
// wide enough to matter, and the 16-byte CAS that would carry one needs
// cmpxchg16b and is not lock-free through std::atomic on every toolchain.
// A zone holds fewer than 2^32 blocks, so an index into it is enough.
//
// Layout:  bits 63..32 tag   bits 31..0 index (kNoIndex = empty)

#ifndef ZONEALLOC_CONCURRENCY_TAGGED_INDEX_H_
#define ZONEALLOC_CONCURRENCY_TAGGED_INDEX_H_

#include <cstdint>

namespace zonealloc {

// "No block": the empty list and the end of a chain.
inline constexpr uint32_t kNoIndex = UINT32_MAX;

class TaggedIndex {
 public:
  constexpr TaggedIndex() : word_(kNoIndex) {}
  constexpr TaggedIndex(uint32_t index, uint32_t tag)
      : word_((uint64_t{tag} << 32) | index) {}

  static constexpr TaggedIndex FromWord(uint64_t word) { return TaggedIndex(word); }
  constexpr uint64_t word() const { return word_; }

  constexpr uint32_t index() const { return static_cast<uint32_t>(word_); }
  constexpr uint32_t tag() const { return static_cast<uint32_t>(word_ >> 32); }
  constexpr bool empty() const { return index() == kNoIndex; }

  // The head after a successful update: a new index and the next tag. The
  // tag wraps from 2^32-1 to 0; see TaggedIndexStack for why that is safe.
  constexpr TaggedIndex Next(uint32_t new_index) const {
    return TaggedIndex(new_index, tag() + 1);
  }

  friend constexpr bool operator==(TaggedIndex a, TaggedIndex b) = default;

 private:
  explicit constexpr TaggedIndex(uint64_t word) : word_(word) {}

  uint64_t word_;
};

}  // namespace zonealloc

#endif  // ZONEALLOC_CONCURRENCY_TAGGED_INDEX_H_
