// SPDX-License-Identifier: Apache-2.0
// FastRandom picks slots and shuffles inside the timed loops: a SplitMix64
// generator, a few cycles per number, so the scenarios measure the
// allocator and not the random number generator (std::mt19937_64 and
// absl::BitGen cost several times more). Not for anything that needs
// statistical quality beyond "spread out".

#ifndef ZONEALLOC_BENCH_FAST_RANDOM_H_
#define ZONEALLOC_BENCH_FAST_RANDOM_H_

#include <cstddef>
#include <cstdint>

namespace zonealloc::bench {

class FastRandom {
 public:
  // Streams of the same seed and different `stream` numbers differ.
  FastRandom(uint64_t seed, uint64_t stream) : state_(seed ^ (stream * 0xD1B54A32D192ED03ull)) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // A number in [0, n) (Lemire's multiply-shift; n > 0).
  size_t Below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_FAST_RANDOM_H_
