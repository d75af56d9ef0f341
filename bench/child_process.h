// SPDX-License-Identifier: Apache-2.0
// RunChildProcess starts the worker binary for one run, with LD_PRELOAD set
// to one library (or removed), collects what it prints on stdout, and kills
// it if it outlives its time limit: a broken allocator may hang, and the
// benchmark must still finish and say so. The worker's stderr goes to the
// driver's stderr.

#ifndef ZONEALLOC_BENCH_CHILD_PROCESS_H_
#define ZONEALLOC_BENCH_CHILD_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace zonealloc::bench {

struct ChildExit {
  std::string stdout_text;
  int exit_code = -1;   // when it exited
  int term_signal = 0;  // when a signal ended it
  bool timed_out = false;

  // "exit 1", "killed by signal 11 (Segmentation fault)", "timed out": for
  // the table.
  std::string Describe() const;
};

// Runs `path args...` with `preload` as LD_PRELOAD (none when empty; an
// inherited LD_PRELOAD is removed either way). An error when the process
// could not be started (NotFound: "cannot run"), or when how it ended is
// unknown: poll, read or waitpid failed (waitpid fails with ECHILD while
// SIGCHLD is ignored). A process killed for an error is reaped first.
absl::StatusOr<ChildExit> RunChildProcess(const std::string& path,
                                          const std::vector<std::string>& args,
                                          const std::string& preload, absl::Duration limit);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_CHILD_PROCESS_H_
