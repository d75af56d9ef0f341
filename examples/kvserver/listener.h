// SPDX-License-Identifier: Apache-2.0
// OpenListener makes one of the server's listening sockets: TCP, bound to
// address:port, non-blocking, with SO_REUSEPORT so that every event loop
// can have its own socket on the same port and the kernel spreads incoming
// connections over them.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_LISTENER_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_LISTENER_H_

#include <string>

#include "absl/status/statusor.h"

namespace kvserver {

struct ListeningSocket {
  int fd = -1;
  int port = 0;  // as bound: the kernel's choice when asked for port 0
};

// `address` is an IPv4 address ("127.0.0.1"); InvalidArgument naming it
// otherwise, or the failing call and errno.
absl::StatusOr<ListeningSocket> OpenListener(const std::string& address, int port);

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_LISTENER_H_
