// SPDX-License-Identifier: Apache-2.0
#include "event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace kvserver {
namespace {

// epoll_event.data.ptr of the two sockets that are not connections.
char listen_tag;
char stop_tag;

constexpr int kMaxEvents = 128;

absl::Status Errno(std::string_view call) {
  const int error = errno;
  return absl::InternalError(absl::StrCat(std::string(call), ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(int listen_fd, int stop_fd,
                                                             const ServerShared& shared) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    const absl::Status status = Errno("epoll_create1");
    close(listen_fd);
    return status;
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(epoll_fd, listen_fd, shared));
  epoll_event listen_event{.events = EPOLLIN, .data = {.ptr = &listen_tag}};
  epoll_event stop_event{.events = EPOLLIN, .data = {.ptr = &stop_tag}};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &stop_event) != 0) {
    return Errno("epoll_ctl(EPOLL_CTL_ADD)");
  }
  return loop;
}

EventLoop::~EventLoop() {
  while (connections_ != nullptr) Destroy(connections_);
  if (close(listen_fd_) != 0) std::perror("kvserver: close(listening socket)");
  if (close(epoll_fd_) != 0) std::perror("kvserver: close(epoll)");
}

absl::Status EventLoop::Run() {
  epoll_event events[kMaxEvents];
  while (true) {
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      void* const tag = events[i].data.ptr;
      if (tag == &stop_tag) return absl::OkStatus();
      if (tag == &listen_tag) {
        AcceptAll();
      } else {
        OnConnectionEvents(static_cast<Connection*>(tag), events[i].events);
      }
    }
  }
}

void EventLoop::AcceptAll() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("kvserver: accept4");
      return;  // EMFILE and the like: retried at the next readiness
    }
    void* block = shared_.memory.Allocate(FixedKind::kConnection);
    if (block == nullptr) {
      std::fprintf(stderr, "kvserver: connection zone past its caps; refusing a connection\n");
      close(fd);
      // relaxed: a statistic; no connected count to publish.
      shared_.stats.total_connections.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto* connection = new (block) Connection(fd, shared_.memory);
    connection->next = connections_;
    if (connections_ != nullptr) connections_->prev = connection;
    connections_ = connection;
    ++connection_count_;
    // relaxed: a statistic.
    shared_.stats.connected_clients.fetch_add(1, std::memory_order_relaxed);
    // release: counted after connected_clients, so an INFO that reads this
    // count (acquire) sees the connected count of every connection in it.
    shared_.stats.total_connections.fetch_add(1, std::memory_order_release);
    if (!UpdateInterest(connection)) Destroy(connection);
  }
}

void EventLoop::OnConnectionEvents(Connection* connection, uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP)) != 0 && !connection->wants_input()) {
    return Destroy(connection);  // nothing left to read, and the socket is gone
  }
  const bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
  for (int round = 0;; ++round) {
    // Commands first: backpressure can leave complete commands in the input
    // buffer with nothing more to read, and no EPOLLIN would ever run them.
    connection->RunCommands(shared_, args_);
    if (connection->has_output() && connection->Flush() == Connection::IoResult::kClosed) {
      return Destroy(connection);
    }
    if (!readable || !connection->wants_input() || round == kReadRounds) break;
    const Connection::IoResult read = connection->Read();
    if (read == Connection::IoResult::kClosed) return Destroy(connection);
    if (read == Connection::IoResult::kWouldBlock) break;
  }
  if (connection->done() || !UpdateInterest(connection)) Destroy(connection);
}

bool EventLoop::UpdateInterest(Connection* connection) {
  uint32_t wanted = 0;
  if (connection->wants_input()) wanted |= EPOLLIN;
  if (connection->wants_output_event()) wanted |= EPOLLOUT;
  if (wanted == connection->registered_events) return true;
  epoll_event event{.events = wanted, .data = {.ptr = connection}};
  const int op = connection->registered_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, connection->fd(), &event) != 0) {
    std::perror("kvserver: epoll_ctl");
    return false;
  }
  connection->registered_events = wanted;
  return true;
}

void EventLoop::Destroy(Connection* connection) {
  if (connection->prev != nullptr) connection->prev->next = connection->next;
  if (connection->next != nullptr) connection->next->prev = connection->prev;
  if (connections_ == connection) connections_ = connection->next;
  --connection_count_;
  // relaxed: a statistic.
  shared_.stats.connected_clients.fetch_sub(1, std::memory_order_relaxed);
  // Closing the socket removes it from the epoll set.
  connection->~Connection();
  shared_.memory.Free(FixedKind::kConnection, connection);
}

}  // namespace kvserver

