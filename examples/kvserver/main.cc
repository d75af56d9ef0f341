// SPDX-License-Identifier: Apache-2.0
// kvserver: a Redis-protocol key-value server whose connections, buffers,
// hash-table nodes and small values come from zonealloc zones (or, with
// --allocator=malloc, from malloc, for comparison). See README.md.
//
// Startup prints one line on stdout, "kvserver listening on ADDRESS:PORT",
// after which the port accepts connections (with --port=0, PORT is the
// kernel's choice). SIGINT or SIGTERM stops it: every loop closes its
// connections, the keyspace is freed, and the zone dump goes to stderr. The
// exit status is 0, or 3 when a zone still has blocks in use after that
// cleanup (a leak), 1 on a startup or run-time error.

#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "commands.h"
#include "connection.h"
#include "event_loop.h"
#include "io_buffer.h"
#include "keyspace.h"
#include "listener.h"
#include "memory_source.h"

ABSL_FLAG(std::string, bind, "127.0.0.1", "IPv4 address to listen on");
ABSL_FLAG(int, port, 6379, "TCP port; 0 lets the kernel choose (printed at startup)");
ABSL_FLAG(int, threads, 0, "event loops (threads); 0: one per CPU");
ABSL_FLAG(std::string, allocator, "zone",
          "where memory comes from: 'zone' (zonealloc) or 'malloc' (whatever malloc is linked "
          "or LD_PRELOADed)");
ABSL_FLAG(int64_t, max_bulk_bytes, 16 << 20, "longest argument (bulk string) a client may send");
ABSL_FLAG(int64_t, max_args, 64 << 10, "most arguments one command may have");

namespace kvserver {
namespace {

constexpr int kExitError = 1;
constexpr int kExitZoneLeak = 3;

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "kvserver: %s\n", status.ToString().c_str());
  return kExitError;
}

absl::StatusOr<ParseLimits> LimitsFromFlags() {
  ParseLimits limits;
  const int64_t bulk = absl::GetFlag(FLAGS_max_bulk_bytes);
  const int64_t args = absl::GetFlag(FLAGS_max_args);
  // Node stores lengths in 32 bits.
  if (bulk < 1 || bulk > (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat("--max_bulk_bytes must be in [1, 2^31], got ", bulk));
  }
  if (args < 1 || args > (int64_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat("--max_args must be in [1, 2^24], got ", args));
  }
  limits.max_bulk_bytes = static_cast<size_t>(bulk);
  limits.max_args = static_cast<size_t>(args);
  limits.max_request_bytes = std::max(limits.max_request_bytes, limits.max_bulk_bytes * 2 + 1024);
  return limits;
}

int Serve() {
  absl::StatusOr<Backend> backend = ParseBackend(absl::GetFlag(FLAGS_allocator));
  if (!backend.ok()) return Fail(backend.status());
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--port must be in [0, 65535], got ", port)));
  }
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0 || threads > 1024) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--threads must be in [0, 1024], got ", threads)));
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<ParseLimits> limits = LimitsFromFlags();
  if (!limits.ok()) return Fail(limits.status());

  // Every thread inherits this mask: the signals wait for sigwait() below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (const int error = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); error != 0) {
    return Fail(absl::InternalError(absl::StrCat("pthread_sigmask: ", std::strerror(error))));
  }
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    return Fail(absl::InternalError(absl::StrCat("signal(SIGPIPE): ", std::strerror(errno))));
  }

  absl::StatusOr<std::unique_ptr<MemorySource>> memory = MemorySource::Create(
      *backend, {.fixed_bytes = {sizeof(Connection), IoBuffer::kChunkBytes, sizeof(Keyspace::Node)}});
  if (!memory.ok()) return Fail(memory.status());
  auto keyspace = std::make_unique<Keyspace>(**memory);
  ServerStats stats;
  stats.threads = threads;
  const ServerShared shared{.keyspace = *keyspace, .memory = **memory, .stats = stats, .limits = *limits};

  const int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) return Fail(absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno))));
  std::vector<std::unique_ptr<EventLoop>> loops;
  for (int i = 0; i < threads; ++i) {
    // The first socket fixes the port (the kernel's choice for --port=0);
    // the others join it through SO_REUSEPORT.
    absl::StatusOr<ListeningSocket> listener =
        OpenListener(absl::GetFlag(FLAGS_bind), i == 0 ? port : stats.port);
    if (!listener.ok()) return Fail(listener.status());
    stats.port = listener->port;
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(listener->fd, stop_fd, shared);
    if (!loop.ok()) return Fail(loop.status());
    loops.push_back(*std::move(loop));
  }

  std::vector<absl::Status> results(loops.size());
  std::vector<std::thread> workers;
  for (size_t i = 0; i < loops.size(); ++i) {
    workers.emplace_back([&loops, &results, i] { results[i] = loops[i]->Run(); });
  }
  std::printf("kvserver listening on %s:%d (%d event loops, allocator %s)\n",
              absl::GetFlag(FLAGS_bind).c_str(), stats.port, threads,
              std::string(BackendName(*backend)).c_str());
  std::fflush(stdout);

  int signal_number = 0;
  if (const int error = sigwait(&stop_signals, &signal_number); error != 0) {
    Fail(absl::InternalError(absl::StrCat("sigwait: ", std::strerror(error))));
    std::_Exit(kExitError);  // the loops run on: no cleanup is possible
  }
  std::fprintf(stderr, "kvserver: %s, shutting down\n", strsignal(signal_number));
  const uint64_t one = 1;
  // Level-triggered: the eventfd stays readable, so every loop sees it.
  if (write(stop_fd, &one, sizeof(one)) != sizeof(one)) {
    std::perror("kvserver: write(stop eventfd)");
    std::_Exit(kExitError);  // the loops would never stop: no cleanup is possible
  }
  for (std::thread& worker : workers) worker.join();
  int exit_code = 0;
  for (const absl::Status& result : results) {
    if (!result.ok()) exit_code = Fail(result);
  }
  loops.clear();  // closes every connection: their blocks go back
  keyspace.reset();
  if (close(stop_fd) != 0) std::perror("kvserver: close(stop eventfd)");

  std::fprintf(stderr, "%s", (*memory)->DumpText().c_str());
  const size_t in_use = (*memory)->InUseBlocks();
  std::fprintf(stderr, "kvserver: zone blocks in use after cleanup: %zu\n", in_use);
  if (in_use != 0 && exit_code == 0) exit_code = kExitZoneLeak;
  return exit_code;
}

}  // namespace
}  // namespace kvserver

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A Redis-protocol key-value server on zonealloc zones. Example:\n"
      "  kvserver --port=6379 --threads=4 --allocator=zone");
  absl::ParseCommandLine(argc, argv);
  return kvserver::Serve();
}
