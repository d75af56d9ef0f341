// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/object_zone.h>

#include "absl/strings/str_format.h"

namespace zonealloc::internal {

absl::Status ObjectBlockSizeError(const ZoneOptions& options, size_t object_size) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "ObjectZone '%s': ZoneOptions.block_size must be 0 or at least sizeof(T) = %d, got %d",
      ZoneDisplayName(options), object_size, options.block_size));
}

}  // namespace zonealloc::internal
