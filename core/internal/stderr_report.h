// SPDX-License-Identifier: Apache-2.0
// How the library writes to stderr (and the stats to a file): whole lines,
// retrying short writes, and never dying of SIGPIPE. Every report of
// zonealloc's core goes through here, crash messages too (Crash()); only
// concurrency/rseq.cc, a layer below, writes its fatal membarrier failure
// itself.
//
// A write to a pipe whose reader is gone raises SIGPIPE, whose default
// action kills the process. A program run as `prog 2>&1 | head` would then
// die of a zonealloc report, a leak line as a zone is destroyed at exit
// say, and exit by a signal instead of with its own status. Here the write
// fails with EPIPE instead, and the SIGPIPE it raised is taken back.

#ifndef ZONEALLOC_CORE_INTERNAL_STDERR_REPORT_H_
#define ZONEALLOC_CORE_INTERNAL_STDERR_REPORT_H_

#include <cstddef>
#include <string_view>

#include "absl/base/attributes.h"
#include "absl/status/status.h"

namespace zonealloc::internal {

// Writes all of `text` to `fd`, retrying short writes and EINTR, with
// SIGPIPE blocked for the calling thread. Unavailable, saying why, when a
// write fails or makes no progress.
absl::Status WriteAllWithoutSigpipe(int fd, std::string_view text);

// The longest report ReportToStderr() writes, newline included.
inline constexpr size_t kMaxReportBytes = 1023;

// Formats one report (printf-style, ending in a newline) in a buffer on the
// stack, cut to kMaxReportBytes with its last byte a newline, and writes it
// to stderr with one write() where it can, so lines of other threads do not
// interleave. Failures are dropped (stderr is where they would be
// reported), and errno is left as the caller had it.
void ReportToStderr(const char* format, ...) ABSL_PRINTF_ATTRIBUTE(1, 2);

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_INTERNAL_STDERR_REPORT_H_
