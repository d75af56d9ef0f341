// SPDX-License-Identifier: Apache-2.0
// EventLoop is one server thread: an epoll set holding its own listening
// socket (SO_REUSEPORT, see listener.h), the server-wide stop eventfd and
// the connections it accepted. Each connection stays on the loop that
// accepted it; the keyspace is what loops share.
//
// Why one loop per core with SO_REUSEPORT rather than an acceptor thread:
// no hand-off between threads for a new connection, and no loop ever
// touches another loop's connections, so connections need no lock.
//
// Level-triggered: a connection is read (up to kReadRounds reads a turn, for
// fairness, each followed by running the commands it completed and writing
// their replies) while its replies stay under Connection::kMaxPendingOutput,
// and is registered for EPOLLOUT only while it has replies the socket did
// not take or commands left in its input buffer when the replies ran over:
// those run at its next event, before any read.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_EVENT_LOOP_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_EVENT_LOOP_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connection.h"

namespace kvserver {

class EventLoop {
 public:
  static constexpr int kReadRounds = 16;

  // Takes ownership of listen_fd (non-blocking); stop_fd is borrowed: when
  // it turns readable, Run() returns. The error of epoll_create1 or
  // epoll_ctl otherwise.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(int listen_fd, int stop_fd,
                                                           const ServerShared& shared);

  // Destroys every connection still open and closes the sockets.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Serves until stop_fd is readable; an error if epoll_wait fails.
  absl::Status Run();

  size_t connections() const { return connection_count_; }

 private:
  EventLoop(int epoll_fd, int listen_fd, const ServerShared& shared)
      : epoll_fd_(epoll_fd), listen_fd_(listen_fd), shared_(shared) {}

  void AcceptAll();
  void OnConnectionEvents(Connection* connection, uint32_t events);
  // Registers the events the connection wants now; false if epoll_ctl fails.
  bool UpdateInterest(Connection* connection);
  void Destroy(Connection* connection);

  const int epoll_fd_;
  const int listen_fd_;
  const ServerShared shared_;
  Connection* connections_ = nullptr;  // a doubly linked list
  size_t connection_count_ = 0;
  std::vector<std::string_view> args_;  // scratch for Connection::RunCommands
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_EVENT_LOOP_H_
