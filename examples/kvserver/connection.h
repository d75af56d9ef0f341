// SPDX-License-Identifier: Apache-2.0
// Connection is one client's socket and its two buffers: it reads bytes,
// runs the complete commands they hold, and writes the replies back. The
// event loop decides when; Connection does the I/O and the parsing.
//
// A connection lives in one block of the MemorySource's connection zone
// (EventLoop places it there), its buffers in I/O-buffer chunks. A client
// that disconnects, even mid-request, costs exactly that: the loop
// destroys the connection and everything it held goes back.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_CONNECTION_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "commands.h"
#include "io_buffer.h"
#include "keyspace.h"
#include "memory_source.h"
#include "resp_parser.h"

namespace kvserver {

// What every connection of the server shares.
struct ServerShared {
  Keyspace& keyspace;
  MemorySource& memory;
  ServerStats& stats;
  ParseLimits limits;
};

class Connection {
 public:
  // Replies waiting past this many bytes stop the reading of new commands
  // until the client takes them (backpressure on a client that pipelines
  // without reading).
  static constexpr size_t kMaxPendingOutput = 1 << 20;

  enum class IoResult { kProgress, kWouldBlock, kClosed };

  // Takes ownership of the connected, non-blocking socket `fd`.
  Connection(int fd, MemorySource& memory) : fd_(fd), in_(memory), out_(memory) {}
  // Closes the socket.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }

  // One read() into the input buffer. kClosed: the peer closed the
  // connection or the socket failed.
  IoResult Read();

  // Runs every complete command in the input buffer, replies appended to
  // the output buffer. A protocol error or QUIT ends the reading: the
  // connection is done once its replies are written. `args` is scratch
  // space the loop lends to all its connections.
  void RunCommands(const ServerShared& shared, std::vector<std::string_view>& args);

  // Writes what it can of the output buffer. kClosed: the socket failed.
  IoResult Flush();

  bool wants_input() const {
    return !closing_ && !commands_waiting_ && out_.size() < kMaxPendingOutput;
  }
  bool has_output() const { return !out_.empty(); }
  // Replies to write, or commands RunCommands() left in the input buffer
  // because the replies ran over kMaxPendingOutput: either way the loop
  // needs EPOLLOUT, since no more input may ever arrive to wake it.
  bool wants_output_event() const { return has_output() || commands_waiting_; }
  // Nothing more to read or write: the loop destroys it.
  bool done() const { return closing_ && out_.empty(); }

  // The event loop's list of its connections and the epoll events it
  // registered for this one.
  Connection* prev = nullptr;
  Connection* next = nullptr;
  uint32_t registered_events = 0;

 private:
  const int fd_;
  IoBuffer in_;
  IoBuffer out_;
  bool closing_ = false;
  bool commands_waiting_ = false;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_CONNECTION_H_
