// SPDX-License-Identifier: Apache-2.0
#include "test_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kvserver {
namespace {

absl::Status Errno(std::string_view call) {
  const int error = errno;
  return absl::UnavailableError(absl::StrCat(std::string(call), ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<TestClient> TestClient::Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  TestClient client(fd);
  const timeval timeout{.tv_sec = 10, .tv_usec = 0};
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return Errno("setsockopt");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Errno(absl::StrCat("connect to port ", port));
  }
  return client;
}

TestClient::~TestClient() { Close(); }

void TestClient::Close() {
  if (fd_ >= 0) close(fd_);  // a test socket: nothing to do about a failure
  fd_ = -1;
}

std::string TestClient::Encode(const std::vector<std::string_view>& args) {
  std::string out = absl::StrCat("*", args.size(), "\r\n");
  for (std::string_view arg : args) absl::StrAppend(&out, "$", arg.size(), "\r\n", absl::string_view(arg.data(), arg.size()), "\r\n");
  return out;
}

absl::Status TestClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("send");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status TestClient::Fill(size_t n) {
  char chunk[65536];
  while (buffered_.size() < n) {
    const ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
    if (got == 0) return absl::UnavailableError("the server closed the connection");
    if (got < 0) {
      if (errno == EINTR) continue;
      return Errno("recv");
    }
    buffered_.append(chunk, static_cast<size_t>(got));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> TestClient::LineEnd(size_t from) {
  while (true) {
    const size_t eol = buffered_.find("\r\n", from);
    if (eol != std::string::npos) return eol + 2;
    if (absl::Status s = Fill(buffered_.size() + 1); !s.ok()) return s;
  }
}

absl::StatusOr<size_t> TestClient::ReplyEnd(size_t from) {
  if (absl::Status s = Fill(from + 1); !s.ok()) return s;
  const char type = buffered_[from];
  absl::StatusOr<size_t> line_end = LineEnd(from);
  if (!line_end.ok()) return line_end.status();
  if (type == '+' || type == '-' || type == ':') return *line_end;
  int64_t count = 0;
  if (!absl::SimpleAtoi(buffered_.substr(from + 1, *line_end - from - 3), &count)) {
    return absl::DataLossError(absl::StrCat("bad reply header: ", buffered_.substr(from, *line_end - from)));
  }
  if (type == '$') {
    if (count < 0) return *line_end;
    const size_t end = *line_end + static_cast<size_t>(count) + 2;
    if (absl::Status s = Fill(end); !s.ok()) return s;
    return end;
  }
  if (type != '*') return absl::DataLossError(absl::StrCat("bad reply type: ", std::string(1, type)));
  size_t end = *line_end;
  for (int64_t i = 0; i < count; ++i) {
    absl::StatusOr<size_t> element_end = ReplyEnd(end);
    if (!element_end.ok()) return element_end.status();
    end = *element_end;
  }
  return end;
}

std::string TestClient::ReadReply() {
  absl::StatusOr<size_t> end = ReplyEnd(0);
  if (!end.ok()) return absl::StrCat("<error: ", end.status().ToString(), ">");
  std::string reply = buffered_.substr(0, *end);
  buffered_.erase(0, *end);
  return reply;
}

std::string TestClient::Call(const std::vector<std::string_view>& args) {
  if (absl::Status s = Send(Encode(args)); !s.ok()) return absl::StrCat("<error: ", s.ToString(), ">");
  return ReadReply();
}

bool TestClient::ServerClosed() {
  if (!buffered_.empty()) return false;
  char byte;
  while (true) {
    const ssize_t n = recv(fd_, &byte, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
}

}  // namespace kvserver
