// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_resource.h>

namespace zonealloc {

bool ZoneResource::do_is_equal(const std::pmr::memory_resource& other) const noexcept {
  if (this == &other) return true;
  const auto* resource = dynamic_cast<const ZoneResource*>(&other);
  return resource != nullptr && resource->zone_ == zone_ &&
         resource->upstream_->is_equal(*upstream_);
}

}  // namespace zonealloc
