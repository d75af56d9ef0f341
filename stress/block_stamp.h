// SPDX-License-Identifier: Apache-2.0
// BlockStamp is what the stress tool writes into every block it holds: who
// allocated it, that owner's sequence number for it, and the zone. It exists
// so that a free can tell whether the block's memory still says what the
// tool wrote at allocation. A block handed out twice is overwritten by its
// second owner, which the free of the first owner then sees as a stamp that
// does not match the side table (live_block_table.h).

#ifndef ZONEALLOC_STRESS_BLOCK_STAMP_H_
#define ZONEALLOC_STRESS_BLOCK_STAMP_H_

#include <cstdint>
#include <cstring>

namespace zonealloc::stress {

struct BlockStamp {
  uint64_t owner = 0;     // the allocating worker's id, unique for the run
  uint64_t sequence = 0;  // that worker's count of allocations
  uint32_t zone = 0;      // index of the zone it came from
  uint32_t unused = 0;
  uint64_t check = 0;     // Mix(owner, sequence, zone): a torn or stray write shows

  // The owner of the stamp --inject_stamp_fault writes over a live block: no
  // worker has this id, so the free that finds it knows the fault is the
  // injected one.
  static constexpr uint64_t kInjectedFaultOwner = ~uint64_t{0};

  static uint64_t Mix(uint64_t owner, uint64_t sequence, uint32_t zone) {
    uint64_t x = owner * 0x9E3779B97F4A7C15ull ^ (sequence + 0x632BE59BD9B4E019ull) ^
                 (uint64_t{zone} << 48);
    x ^= x >> 31;
    return ~x * 0xBF58476D1CE4E5B9ull;
  }
  static BlockStamp For(uint64_t owner, uint64_t sequence, uint32_t zone) {
    return {owner, sequence, zone, 0, Mix(owner, sequence, zone)};
  }
  bool Valid() const { return check == Mix(owner, sequence, zone); }
  bool SameOwnerAs(const BlockStamp& other) const {
    return owner == other.owner && sequence == other.sequence && zone == other.zone;
  }

  // memcpy: the block is raw memory from the zone, not a BlockStamp object.
  void WriteTo(void* block) const { std::memcpy(block, this, sizeof(*this)); }
  static BlockStamp ReadFrom(const void* block) {
    BlockStamp stamp;
    std::memcpy(&stamp, block, sizeof(stamp));
    return stamp;
  }
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_BLOCK_STAMP_H_
