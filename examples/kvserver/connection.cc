// SPDX-License-Identifier: Apache-2.0
#include "connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace kvserver {
namespace {

// A read asks for at least this much room (compacting the buffer first),
// so a connection whose requests fit one chunk never leaves it.
constexpr size_t kMinReadRoom = 4096;

}  // namespace

Connection::~Connection() {
  if (close(fd_) != 0) std::fprintf(stderr, "kvserver: close(%d): %s\n", fd_, std::strerror(errno));
}

Connection::IoResult Connection::Read() {
  if (in_.tail_room() < kMinReadRoom) in_.PrepareAppend(kMinReadRoom);
  while (true) {
    const ssize_t n = read(fd_, in_.PrepareAppend(1), in_.tail_room());
    if (n > 0) {
      in_.Commit(static_cast<size_t>(n));
      return IoResult::kProgress;
    }
    if (n == 0) return IoResult::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::kWouldBlock;
    // ECONNRESET and the like: the client is gone, nothing to report.
    return IoResult::kClosed;
  }
}

void Connection::RunCommands(const ServerShared& shared, std::vector<std::string_view>& args) {
  Reply reply(out_);
  CommandContext context{.keyspace = shared.keyspace,
                         .memory = shared.memory,
                         .stats = shared.stats,
                         .now_ms = NowMs()};
  while (!closing_ && !in_.empty() && out_.size() < kMaxPendingOutput) {
    const ParseResult parsed = ParseCommand(in_.readable(), shared.limits, &args);
    if (parsed.status == ParseStatus::kIncomplete) break;
    if (parsed.status == ParseStatus::kError) {
      reply.Error("ERR " + parsed.error);
      closing_ = true;
      break;
    }
    if (!args.empty() && RunCommand(args, context, reply) == AfterCommand::kClose) closing_ = true;
    in_.Consume(parsed.consumed);  // after the command: args point into in_
  }
  // Stopped by the replies' size with input left: those commands run once
  // the replies are written (Connection::wants_output_event()).
  commands_waiting_ = !closing_ && !in_.empty() && out_.size() >= kMaxPendingOutput;
  in_.ShrinkIfEmpty();
}

Connection::IoResult Connection::Flush() {
  IoResult result = IoResult::kWouldBlock;
  while (!out_.empty()) {
    const std::string_view pending = out_.readable();
    const ssize_t n = send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      out_.Consume(static_cast<size_t>(n));
      result = IoResult::kProgress;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return result;
    return IoResult::kClosed;  // EPIPE, ECONNRESET: the client is gone
  }
  out_.ShrinkIfEmpty();
  return IoResult::kProgress;
}

}  // namespace kvserver
