// SPDX-License-Identifier: Apache-2.0
// Debian's Abseil is built with its own absl::string_view, distinct from
// std::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), so the two are
// converted where kvserver's std::string_view meets an Abseil string API.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_ABSL_VIEW_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace kvserver {

inline absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view FromAbsl(absl::string_view text) { return {text.data(), text.size()}; }

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_ABSL_VIEW_H_
