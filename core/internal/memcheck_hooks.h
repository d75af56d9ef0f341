// SPDX-License-Identifier: Apache-2.0
// Hooks that tell a memory checker which bytes of a zone a program may touch,
// so a read or write through a freed block pointer is reported:
// AddressSanitizer (ZONEALLOC_CONFIG_ASAN, from ZONEALLOC_SANITIZER=address)
// and Valgrind's memcheck (ZONEALLOC_CONFIG_VALGRIND, from the CMake option
// ZONEALLOC_VALGRIND). Both switches come from <zonealloc/config.h>, fixed
// when the library is configured, so the compiled library and every
// includer's inline Allocate()/Free() agree. In a build with neither, every
// hook is an empty inline function. For zonealloc's own allocators only.
//
// Each block allocator (a Zone, an UnsynchronizedZone, an OverflowPool) is a
// "block pool": for memcheck, a mempool whose anchor is the allocator's
// address. The hooks, and where the allocators call them:
//
//   hook                   called when                      ASan      memcheck
//   CreateBlockPool        the allocator is created         -         CREATE_MEMPOOL
//   DestroyBlockPool       ... destroyed (blocks in use     -         DESTROY_MEMPOOL
//                          are forgotten, not leaks)
//   BlockHandedOut         Allocate() returns the block     unpoison  MEMPOOL_ALLOC (undefined)
//   BlockFreed             Free() takes the block back      poison    MEMPOOL_FREE (no access)
//   UnpoisonBlock          the allocator's own access to a  unpoison  MAKE_MEM_DEFINED
//                          free block begins (batch lists,
//                          free-list links, debug fill)
//   PoisonFreeBlock        ... ends; a new segment's blocks poison    MAKE_MEM_NOACCESS
//                          (Zone's fresh range)
//   ForgetContents         a handed-out block's old bytes   -         MAKE_MEM_UNDEFINED
//                          were read (overflow debug fill)
//   HideUntouchedBlocks    blocks the allocator hands out   -         MAKE_MEM_NOACCESS
//                          in address order, untouched
//   UnpoisonBeforeUnmap    memory is about to be unmapped   unpoison  -
//
// BlockHandedOut and BlockFreed happen at the allocator's public boundary:
// in Zone, on every path out of Allocate()/AllocateBulk() and into
// Free()/FreeBulk() (MarkAllocated/HandOut and MarkFree/FreeChecked); in
// OverflowPool, at the end of Allocate() and in Free(). So a block is
// allocated, for the checker, exactly while the program holds it: a block in
// a CPU cache, on a shared-zone stack or in an overflow slab is free.
// Free() marks the block free before pushing it (once pushed, another thread
// may take it) and Allocate() marks it allocated after the pop, outside the
// CPU caches' critical sections.
//
// Memcheck: a freed block is "no access", so the program's read or write is
// an "Invalid read"/"Invalid write" naming the block and where it was freed,
// and a block handed out is "undefined", so using its old contents is
// reported too. A block still allocated when the process exits is reported as
// a leak (--leak-check=full) unless the allocator was destroyed first (its
// own leak line says how many then). Under Valgrind rseq is unavailable, so
// zones use the fallback CPU caches or none (ZONEALLOC_CPU_CACHE).
//
// ASan poisons and unpoisons instead (its reports say "use-after-poison");
// it cannot tell undefined from defined, and poisoning untouched blocks would
// write an eighth of their bytes in shadow memory at once, so
// HideUntouchedBlocks leaves them alone there.

#ifndef ZONEALLOC_CORE_INTERNAL_MEMCHECK_HOOKS_H_
#define ZONEALLOC_CORE_INTERNAL_MEMCHECK_HOOKS_H_

#include <cstddef>

#include <zonealloc/config.h>

#if ZONEALLOC_CONFIG_ASAN
// Declares the poisoning functions whatever the includer's flags; its
// ASAN_POISON_MEMORY_REGION macro would follow __SANITIZE_ADDRESS__ instead.
#include <sanitizer/asan_interface.h>
#endif
#if ZONEALLOC_CONFIG_VALGRIND
// The client requests are a few instructions that do nothing unless the
// program runs under Valgrind.
#include <valgrind/memcheck.h>
#endif

namespace zonealloc::internal {

inline constexpr bool kPoisonFreeBlocks = ZONEALLOC_CONFIG_ASAN != 0;
inline constexpr bool kMemcheckHooks = ZONEALLOC_CONFIG_VALGRIND != 0;

inline void CreateBlockPool(const void* pool) {
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_CREATE_MEMPOOL(pool, /*rzB=*/0, /*is_zeroed=*/0);
#else
  static_cast<void>(pool);
#endif
}

inline void DestroyBlockPool(const void* pool) {
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_DESTROY_MEMPOOL(pool);
#else
  static_cast<void>(pool);
#endif
}

// [p, p + bytes) now belongs to the program.
inline void BlockHandedOut(const void* pool, const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_unpoison_memory_region(p, bytes);
#endif
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MEMPOOL_ALLOC(pool, p, bytes);
#endif
  static_cast<void>(pool);
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// The block at p, handed out by BlockHandedOut(pool, p, bytes), is free
// again: nobody may touch its bytes.
inline void BlockFreed(const void* pool, const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_poison_memory_region(p, bytes);
#endif
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MEMPOOL_FREE(pool, p);
#endif
  static_cast<void>(pool);
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// Free memory nobody may touch: the end of the allocator's own access to a
// free block, or fresh blocks before they join a free list.
inline void PoisonFreeBlock(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_poison_memory_region(p, bytes);
#endif
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MAKE_MEM_NOACCESS(p, bytes);
#endif
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// The allocator's own access to free memory: its contents are what the
// allocator last wrote there (memcheck: defined).
inline void UnpoisonBlock(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_unpoison_memory_region(p, bytes);
#endif
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MAKE_MEM_DEFINED(p, bytes);
#endif
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// Blocks never handed out, which the allocator will not touch before it
// hands them out (memcheck only; see above for ASan).
inline void HideUntouchedBlocks(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MAKE_MEM_NOACCESS(p, bytes);
#endif
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// A block just handed out whose old contents the allocator read (a debug
// fill check after BlockHandedOut): to the program its bytes are undefined
// again, as BlockHandedOut left them (memcheck only).
inline void ForgetContents(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_VALGRIND
  VALGRIND_MAKE_MEM_UNDEFINED(p, bytes);
#endif
  static_cast<void>(p);
  static_cast<void>(bytes);
}

// Memory about to be unmapped: its addresses may be mapped again for
// anything, which must not find them poisoned. (Valgrind forgets an unmapped
// range's state itself.)
inline void UnpoisonBeforeUnmap(const void* p, size_t bytes) {
#if ZONEALLOC_CONFIG_ASAN
  __asan_unpoison_memory_region(p, bytes);
#endif
  static_cast<void>(p);
  static_cast<void>(bytes);
}

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_MEMCHECK_HOOKS_H_
