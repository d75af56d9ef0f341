// SPDX-License-Identifier: Apache-2.0
// The contenders of a scenario-benchmark run: zonealloc's two zones and the
// peers they are measured against, each with how the driver runs it.
//
// Each malloc peer (jemalloc, tcmalloc, mimalloc, tbbmalloc) is the worker's
// plain malloc/free with the peer's Debian library in LD_PRELOAD: linking
// several mallocs into one binary makes them fight over the malloc symbol.
// A peer whose library is missing stays in the list, marked not installed,
// so the table says so instead of silently dropping a row.
//
// zone_debug (a Zone with ZoneOptions::debug_checks) measures what the
// checks cost. It is an on-request contender: the default matrix leaves it
// out, so README command 1 takes no longer; --full and --smoke run it, and
// --allocators=zone,zone_debug picks it.

#ifndef ZONEALLOC_BENCH_CONTENDERS_H_
#define ZONEALLOC_BENCH_CONTENDERS_H_

#include <string>
#include <vector>

namespace zonealloc::bench {

struct Contender {
  std::string label;             // the table's name: zone, glibc, jemalloc, ...
  std::string worker_allocator;  // the worker's --allocator
  std::string preload;           // LD_PRELOAD library; empty for none
  // The worker reports which shared object `malloc` resolved to; a run whose
  // report lacks this text did not measure this contender (preload ignored).
  // Empty: nothing to check (the contender does not use malloc).
  std::string expect_malloc_library;
  bool zonealloc = false;      // ours; every other contender is a peer
  bool single_thread = false;  // may serve one thread only
  bool on_request = false;     // out of the default matrix unless named (--allocators)
  bool installed = true;
  std::string missing;  // what is missing, when !installed
};

// Where Debian keeps the peers' libraries: /usr/lib/<multiarch triplet>.
std::string DebianLibraryDir();

// zone, zone_fallback, zone_nocache, zone_debug, unsync, glibc, jemalloc,
// tcmalloc, mimalloc, tbbmalloc, tbb_pool, pmr_sync, pmr_unsync, in table
// order. Peer libraries are looked up in `library_dir`.
std::vector<Contender> AllContenders(const std::string& library_dir = DebianLibraryDir());

// The contenders a run measures, in table order: those whose labels `only`
// lists, or, when `only` is empty, every contender, less the on-request ones
// unless `on_request_too` (the driver: a matrix other than the default).
std::vector<Contender> ChooseContenders(const std::vector<std::string>& only,
                                        bool on_request_too,
                                        const std::string& library_dir = DebianLibraryDir());

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_CONTENDERS_H_
