// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/rseq.h>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace zonealloc {
namespace internal {
std::atomic<uint64_t> rseq_restarts{0};
}  // namespace internal

namespace {

long Membarrier(int command, unsigned flags, int cpu) {
  return syscall(__NR_membarrier, command, flags, cpu);
}

absl::Status DetectRseqSupport() {
  if (!kRseqCompiledIn) {
    return absl::FailedPreconditionError(
        "rseq caches are x86-64 Linux only and off in ThreadSanitizer builds");
  }
#if defined(ZONEALLOC_HAVE_GLIBC_RSEQ)
  if (__rseq_size < sizeof(RseqArea)) {
    return absl::FailedPreconditionError(
        "glibc registered no rseq area (kernel without rseq, or glibc.pthread.rseq=0)");
  }
  static_assert(offsetof(RseqArea, cpu_id) == 4 && offsetof(RseqArea, rseq_cs) == 8);
  if (Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) != 0) {
    return absl::FailedPreconditionError(
        "the kernel refused membarrier(REGISTER_PRIVATE_EXPEDITED_RSEQ)");
  }
  if (CurrentRseqArea()->cpu_id >= 0x80000000u) {
    return absl::FailedPreconditionError("this thread's rseq registration failed");
  }
  if (Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU,
                 static_cast<int>(CurrentRseqArea()->cpu_id)) != 0) {
    return absl::FailedPreconditionError("membarrier(PRIVATE_EXPEDITED_RSEQ) with a CPU fails");
  }
  return absl::OkStatus();
#else
  return absl::FailedPreconditionError("glibc older than 2.35 registers no rseq area");
#endif
}

}  // namespace

absl::Status RseqSupport() {
  static const absl::Status* const status = new absl::Status(DetectRseqSupport());
  return *status;
}

void FenceCpu(int cpu) {
  // Without the fence a drain could hand out a block twice, so a failure
  // (the kernel returns 0 even for an offline CPU) is fatal.
  if (Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, cpu) != 0) {
    std::fprintf(stderr, "zonealloc: membarrier(PRIVATE_EXPEDITED_RSEQ, cpu %d) failed: %s\n",
                 cpu, std::strerror(errno));
    std::abort();
  }
}

uint64_t RseqRestarts() {
  // relaxed: a statistic.
  return internal::rseq_restarts.load(std::memory_order_relaxed);
}

}  // namespace zonealloc
