// SPDX-License-Identifier: Apache-2.0
// A program built against zonealloc from outside its tree, as a user builds
// one: cmake/consumer_test.sh builds it against an installed prefix
// (find_package and pkg-config) and against the source tree
// (add_subdirectory), and runs it. It prints the version it was compiled
// against, then creates a zone, allocates and frees (zone_check.cc).

#include <cstdio>

#include <zonealloc/version.h>

#include "zone_check.h"

#if ZONEALLOC_VERSION < 100
#error "this program needs zonealloc 0.1.0 or later"
#endif

int main() {
  std::printf("zonealloc %s\n", ZONEALLOC_VERSION_STRING);
  return AllocateAndFreeOneBlock() ? 0 : 1;
}
