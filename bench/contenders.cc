// SPDX-License-Identifier: Apache-2.0
#include "bench/contenders.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace zonealloc::bench {
namespace {

// A peer that is plain malloc with `library` (a file in the library dir)
// preloaded.
Contender PreloadedMalloc(const std::string& label, const std::string& library_dir,
                          const std::string& library) {
  Contender contender{.label = label,
                      .worker_allocator = "malloc",
                      .preload = library_dir + "/" + library,
                      .expect_malloc_library = library};
  if (access(contender.preload.c_str(), R_OK) != 0) {
    contender.installed = false;
    contender.missing = contender.preload;
  }
  return contender;
}

}  // namespace

std::string DebianLibraryDir() {
#if defined(__x86_64__)
  return "/usr/lib/x86_64-linux-gnu";
#elif defined(__aarch64__)
  return "/usr/lib/aarch64-linux-gnu";
#else
  return "/usr/lib";
#endif
}

std::vector<Contender> AllContenders(const std::string& library_dir) {
  return {
      {.label = "zone", .worker_allocator = "zone", .zonealloc = true},
      {.label = "zone_fallback", .worker_allocator = "zone_fallback", .zonealloc = true},
      {.label = "zone_nocache", .worker_allocator = "zone_nocache", .zonealloc = true},
      {.label = "zone_debug", .worker_allocator = "zone_debug", .zonealloc = true,
       .on_request = true},
      {.label = "unsync", .worker_allocator = "unsync", .zonealloc = true, .single_thread = true},
      {.label = "glibc", .worker_allocator = "malloc", .expect_malloc_library = "libc.so"},
      PreloadedMalloc("jemalloc", library_dir, "libjemalloc.so.2"),
      // gperftools' tcmalloc without the heap profiler.
      PreloadedMalloc("tcmalloc", library_dir, "libtcmalloc_minimal.so.4"),
      PreloadedMalloc("mimalloc", library_dir, "libmimalloc.so.2"),
      // The proxy replaces malloc with tbbmalloc's scalable_malloc.
      PreloadedMalloc("tbbmalloc", library_dir, "libtbbmalloc_proxy.so.2"),
      {.label = "tbb_pool", .worker_allocator = "tbb_pool"},
      {.label = "pmr_sync", .worker_allocator = "pmr_sync"},
      {.label = "pmr_unsync", .worker_allocator = "pmr_unsync", .single_thread = true},
  };
}

std::vector<Contender> ChooseContenders(const std::vector<std::string>& only,
                                        bool on_request_too, const std::string& library_dir) {
  std::vector<Contender> chosen;
  for (Contender& contender : AllContenders(library_dir)) {
    const bool wanted =
        only.empty() ? on_request_too || !contender.on_request
                     : std::find(only.begin(), only.end(), contender.label) != only.end();
    if (wanted) chosen.push_back(std::move(contender));
  }
  return chosen;
}

}  // namespace zonealloc::bench
