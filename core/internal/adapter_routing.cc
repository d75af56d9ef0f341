// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/adapter_routing.h>

#include <new>

namespace zonealloc::internal {

void ThrowBadAlloc() { throw std::bad_alloc(); }

}  // namespace zonealloc::internal
