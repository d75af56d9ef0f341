// SPDX-License-Identifier: Apache-2.0
// The command table: what each command the server knows does, and how it
// answers. RunCommand() looks the name up (case-insensitively), checks the
// argument count and runs the handler, which writes exactly one reply.
//
// Errors a client causes inside a well-formed command (unknown command,
// wrong argument count, a bad option, INCR on a non-integer) are answered
// "-ERR ..." and the connection goes on; only QUIT closes it.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_COMMANDS_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_COMMANDS_H_

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "keyspace.h"
#include "memory_source.h"
#include "reply.h"

namespace kvserver {

// What INFO reports about the server as a whole.
struct ServerStats {
  int threads = 0;
  int port = 0;
  // relaxed: statistics, read only by INFO.
  std::atomic<int64_t> connected_clients{0};
  std::atomic<int64_t> total_commands{0};
  // Counted (release) after connected_clients, so an INFO that reads it
  // (acquire) and then, in a later INFO, connected_clients, sees every
  // connection it counts in that figure (the end-to-end test waits so).
  std::atomic<int64_t> total_connections{0};
};

struct CommandContext {
  Keyspace& keyspace;
  const MemorySource& memory;
  ServerStats& stats;
  int64_t now_ms;  // wall-clock milliseconds, for expiry
};

enum class AfterCommand { kContinue, kClose };

// REQUIRES: args is not empty.
AfterCommand RunCommand(std::span<const std::string_view> args, CommandContext& context,
                        Reply& reply);

// The INFO text (every section; `section` is accepted and ignored), with
// "\r\n" line ends, ending in "# zonealloc" with MemorySource::DumpText().
std::string InfoText(const CommandContext& context);

// Milliseconds since the Unix epoch.
int64_t NowMs();

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_COMMANDS_H_
