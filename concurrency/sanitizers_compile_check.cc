// SPDX-License-Identifier: Apache-2.0
// Compiled but never linked or run, once with -fsanitize=thread and once with
// -fsanitize=address (concurrency/CMakeLists.txt), by whichever compiler
// builds the project: the build fails if sanitizers.h misses that compiler's
// way of saying so (clang 14 defines no __SANITIZE_*__ macro), or if a
// ThreadSanitizer translation unit would compile in the rseq assembly.

#include <zonealloc/concurrency/rseq.h>
#include <zonealloc/concurrency/sanitizers.h>

#if defined(ZONEALLOC_CHECK_TSAN)
#if !defined(ZONEALLOC_COMPILING_WITH_TSAN) || defined(ZONEALLOC_COMPILING_WITH_ASAN)
#error "sanitizers.h does not see this -fsanitize=thread translation unit as one"
#endif
static_assert(!zonealloc::kRseqCompiledIn,
              "ThreadSanitizer cannot see into the rseq critical sections");
#endif

#if defined(ZONEALLOC_CHECK_ASAN)
#if !defined(ZONEALLOC_COMPILING_WITH_ASAN) || defined(ZONEALLOC_COMPILING_WITH_TSAN)
#error "sanitizers.h does not see this -fsanitize=address translation unit as one"
#endif
#endif
