// SPDX-License-Identifier: Apache-2.0
// Whether the translation unit being compiled is instrumented by a
// sanitizer. GCC says so with __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__;
// clang 14 defines neither and answers only through __has_feature. Code
// that must compile differently under a sanitizer (the rseq assembly, which
// ThreadSanitizer cannot see into) reads these instead of either spelling.
//
// These follow the includer's flags, by design: they describe the code
// being compiled, not the library's build (that is config.h's job).

#ifndef ZONEALLOC_CONCURRENCY_SANITIZERS_H_
#define ZONEALLOC_CONCURRENCY_SANITIZERS_H_

#if defined(__SANITIZE_ADDRESS__)
#define ZONEALLOC_COMPILING_WITH_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define ZONEALLOC_COMPILING_WITH_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(ZONEALLOC_COMPILING_WITH_ASAN)
#define ZONEALLOC_COMPILING_WITH_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(ZONEALLOC_COMPILING_WITH_TSAN)
#define ZONEALLOC_COMPILING_WITH_TSAN 1
#endif
#endif

#endif  // ZONEALLOC_CONCURRENCY_SANITIZERS_H_
