// SPDX-License-Identifier: Apache-2.0
// A library of the consumer project that uses zonealloc in its own code, as
// most users will: the project exports it (ZONEALLOC_CONSUMER_EXPORT), and
// CMake then asks that zonealloc be exported too.

#ifndef ZONEALLOC_CMAKE_CONSUMER_ZONE_CHECK_H_
#define ZONEALLOC_CMAKE_CONSUMER_ZONE_CHECK_H_

// Creates a zone, allocates a block and frees it, and checks the zone's
// counts. Prints what failed and returns false on a failure.
bool AllocateAndFreeOneBlock();

#endif  // ZONEALLOC_CMAKE_CONSUMER_ZONE_CHECK_H_
