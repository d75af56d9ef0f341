// SPDX-License-Identifier: Apache-2.0
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kvserver {
namespace {

absl::Status Errno(std::string_view call, const std::string& address, int port) {
  const int error = errno;
  return absl::UnavailableError(
      absl::StrCat(std::string(call), " for ", address, ":", port, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<ListeningSocket> OpenListener(const std::string& address, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--bind must be an IPv4 address, got '", address, "'"));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket()", address, port);
  const int one = 1;
  absl::Status status;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    status = Errno("setsockopt()", address, port);
  } else if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    status = Errno("bind()", address, port);
  } else if (listen(fd, SOMAXCONN) != 0) {
    status = Errno("listen()", address, port);
  } else {
    socklen_t length = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      status = Errno("getsockname()", address, port);
    }
  }
  if (!status.ok()) {
    close(fd);  // its failure cannot add to the error being reported
    return status;
  }
  return ListeningSocket{.fd = fd, .port = ntohs(addr.sin_port)};
}

}  // namespace kvserver
