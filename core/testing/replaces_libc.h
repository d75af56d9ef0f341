// SPDX-License-Identifier: Apache-2.0
// ZONEALLOC_TEST_REPLACES_LIBC is 1 where a test program may define its own
// malloc, munmap and the like: on glibc (its own entry points, __libc_malloc
// or the system call, are there to forward to), and where no sanitizer's
// runtime defines them (a definition in the program would take them from
// that runtime). A preprocessor constant, since it decides which functions
// are defined at all.

#ifndef ZONEALLOC_CORE_TESTING_REPLACES_LIBC_H_
#define ZONEALLOC_CORE_TESTING_REPLACES_LIBC_H_

#if !defined(__GLIBC__) && __has_include(<features.h>)
#include <features.h>  // defines __GLIBC__
#endif

#if !defined(__GLIBC__) || defined(ZONEALLOC_SANITIZER_BUILD) || \
    defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ZONEALLOC_TEST_REPLACES_LIBC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ZONEALLOC_TEST_REPLACES_LIBC 0
#endif
#endif
#ifndef ZONEALLOC_TEST_REPLACES_LIBC
#define ZONEALLOC_TEST_REPLACES_LIBC 1
#endif

#endif  // ZONEALLOC_CORE_TESTING_REPLACES_LIBC_H_
