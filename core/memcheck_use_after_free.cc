// SPDX-License-Identifier: Apache-2.0
// memcheck_use_after_free: misuses a zone in one chosen way, for
// cmake/valgrind.sh to run under `valgrind --tool=memcheck` in a build
// configured with ZONEALLOC_VALGRIND=ON, where each misuse must be reported
// (see internal/memcheck_hooks.h). Without the hooks memcheck sees only
// mapped memory and reports nothing, which the script treats as a failure.
//
//   memcheck_use_after_free write_after_free    Zone: "Invalid write"
//   memcheck_use_after_free read_after_free     Zone, block back in the shared
//                                               zone: "Invalid read"
//   memcheck_use_after_free read_untouched      Zone, a block never handed
//                                               out: "Invalid read"
//   memcheck_use_after_free overflow_write_after_free
//                                               an overflow block: "Invalid write"
//   memcheck_use_after_free unsync_write_after_free
//                                               UnsynchronizedZone: "Invalid write"
//   memcheck_use_after_free unsync_read_untouched
//                                               UnsynchronizedZone, never handed
//                                               out: "Invalid read"
//   memcheck_use_after_free uninitialised       a decision on a recycled block's
//                                               old bytes: "uninitialised value"
//   memcheck_use_after_free debug_overflow_uninitialised
//                                               a decision on the old bytes of an
//                                               overflow block a debug-checked zone
//                                               verified: "uninitialised value"
//   memcheck_use_after_free leak                blocks of a live zone dropped:
//                                               "definitely lost"
//   memcheck_use_after_free clean               correct use, overflow, bulk calls
//                                               and a debug-checked zone: no error
//
// Natively every mode exits 0 (the misuse touches the zone's own memory).
// Exit status 2 for an unknown mode or a zone that cannot be created.

#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

constexpr size_t kBlockSize = 64;
constexpr size_t kBlocks = 16;

// The misuse goes through a volatile pointer so the compiler keeps it.
volatile char* Bytes(void* block) { return static_cast<volatile char*>(block); }

std::unique_ptr<Zone> MakeZone(ZoneService& service) {
  absl::StatusOr<std::unique_ptr<Zone>> zone = service.CreateZone(
      {.name = "memcheck", .block_size = kBlockSize, .initial_blocks = kBlocks,
       .max_blocks = kBlocks});
  if (!zone.ok()) {
    std::fprintf(stderr, "memcheck_use_after_free: %s\n", zone.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(zone);
}

int Run(std::string_view mode) {
  std::unique_ptr<ZoneService> service =
      *ZoneService::Create({.name = "memcheck", .permanent_budget_bytes = uint64_t{1} << 30});
  std::unique_ptr<Zone> zone = MakeZone(*service);
  if (zone == nullptr) return 2;

  if (mode == "write_after_free") {
    void* block = zone->Allocate();
    zone->Free(block);  // into this CPU's cache, or the shared zone
    Bytes(block)[8] = 1;
  } else if (mode == "read_after_free") {
    void* block = zone->Allocate();
    zone->Free(block);
    zone->Drain();  // into the shared zone, in batches
    std::printf("%d\n", Bytes(block)[kBlockSize - 1]);
  } else if (mode == "read_untouched") {
    // Every block but the one handed out is free; a neighbour will do.
    char* block = static_cast<char*>(zone->Allocate());
    char* neighbour = zone->Owns(block + kBlockSize) ? block + kBlockSize : block - kBlockSize;
    std::printf("%d\n", Bytes(neighbour)[0]);
    zone->Free(block);
  } else if (mode == "overflow_write_after_free") {
    std::vector<void*> permanent;
    for (size_t i = 0; i < kBlocks; ++i) permanent.push_back(zone->Allocate());
    void* kept = zone->Allocate();  // overflow; keeps the slab mapped
    void* block = zone->Allocate();
    zone->Free(block);
    Bytes(block)[0] = 1;
    zone->Free(kept);
    for (void* p : permanent) zone->Free(p);
  } else if (mode == "unsync_write_after_free" || mode == "unsync_read_untouched") {
    absl::StatusOr<std::unique_ptr<UnsynchronizedZone>> unsync =
        UnsynchronizedZone::Create({.block_size = kBlockSize, .initial_blocks = 4}, *service);
    if (!unsync.ok()) return 2;
    void* block = (*unsync)->Allocate();
    (*unsync)->Free(block);
    if (mode == "unsync_write_after_free") {
      Bytes(block)[8] = 1;
    } else {
      // Blocks are handed out in address order: the next one is untouched.
      std::printf("%d\n", Bytes(static_cast<char*>(block) + kBlockSize)[0]);
    }
  } else if (mode == "uninitialised") {
    void* block = zone->Allocate();
    std::memset(block, 7, kBlockSize);
    zone->Free(block);
    void* again = zone->Allocate();  // this CPU's cache: the same block
    if (Bytes(again)[0] == 7) std::printf("old contents\n");
    zone->Free(again);
  } else if (mode == "debug_overflow_uninitialised") {
    // The zone reads the block's fill before handing it out again; to the
    // program the bytes are as undefined as any recycled block's.
    absl::StatusOr<std::unique_ptr<Zone>> checked = service->CreateZone(
        {.name = "memcheck-debug", .block_size = kBlockSize, .initial_blocks = kBlocks,
         .max_blocks = kBlocks, .debug_checks = true});
    if (!checked.ok()) return 2;
    std::vector<void*> permanent;
    for (size_t i = 0; i < kBlocks; ++i) permanent.push_back((*checked)->Allocate());
    void* kept = (*checked)->Allocate();  // overflow; keeps the slab mapped
    void* block = (*checked)->Allocate();
    (*checked)->Free(block);
    void* again = (*checked)->Allocate();  // the slab's free list: the same block
    if (Bytes(again)[kBlockSize - 1] == static_cast<char>(kFreedBlockFill)) {
      std::printf("old contents\n");
    }
    (*checked)->Free(again);
    (*checked)->Free(kept);
    for (void* p : permanent) (*checked)->Free(p);
  } else if (mode == "leak") {
    // The zone lives on past exit and three of its blocks are dropped.
    // Memcheck finds them "definitely lost", but for one the zone's own
    // pointer to the start of its region may keep "still reachable".
    static Zone* const kept_zone = zone.release();
    for (int i = 0; i < 3; ++i) static_cast<void>(kept_zone->Allocate());
    service.release();
  } else if (mode == "clean") {
    std::vector<void*> blocks;
    for (size_t i = 0; i < 3 * kBlocks; ++i) {  // through overflow too
      void* block = zone->Allocate();
      std::memset(block, 1, kBlockSize);
      blocks.push_back(block);
    }
    for (void* block : blocks) zone->Free(block);
    zone->Drain();
    std::vector<void*> bulk(kBlocks);
    bulk.resize(zone->AllocateBulk(bulk));
    for (void* block : bulk) std::memset(block, 2, kBlockSize);
    zone->FreeBulk(bulk);
    // A debug-checked zone reads the fill of every block it hands out.
    absl::StatusOr<std::unique_ptr<Zone>> checked = service->CreateZone(
        {.name = "memcheck-debug", .block_size = kBlockSize, .initial_blocks = kBlocks,
         .max_blocks = kBlocks, .debug_checks = true});
    if (!checked.ok()) return 2;
    for (size_t i = 0; i < 3 * kBlocks; ++i) {
      void* block = (*checked)->Allocate();
      std::memset(block, 3, kBlockSize);
      blocks[i] = block;
    }
    for (size_t i = 0; i < 3 * kBlocks; ++i) (*checked)->Free(blocks[i]);
    for (size_t i = 0; i < 3 * kBlocks; ++i) blocks[i] = (*checked)->Allocate();
    for (size_t i = 0; i < 3 * kBlocks; ++i) (*checked)->Free(blocks[i]);
  } else {
    std::fprintf(stderr, "memcheck_use_after_free: unknown mode '%.*s'\n",
                 static_cast<int>(mode.size()), mode.data());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace zonealloc

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: memcheck_use_after_free MODE (see the source)\n");
    return 2;
  }
  return zonealloc::Run(argv[1]);
}
