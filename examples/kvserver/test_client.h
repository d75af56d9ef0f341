// SPDX-License-Identifier: Apache-2.0
// TestClient is a blocking Redis-protocol client for the end-to-end test:
// it sends raw bytes and reads back whole RESP replies, as raw bytes, so a
// test states exactly what the server must answer.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_TEST_CLIENT_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_TEST_CLIENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kvserver {

class TestClient {
 public:
  // Connects to 127.0.0.1:port; replies not complete within 10 s fail.
  static absl::StatusOr<TestClient> Connect(int port);
  // A client with no socket, whose every call fails: what a test uses
  // after Connect() failed, so it fails without crashing.
  static TestClient Unconnected() { return TestClient(-1); }
  TestClient(TestClient&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ~TestClient();

  // The command as a RESP array of bulk strings.
  static std::string Encode(const std::vector<std::string_view>& args);

  absl::Status Send(std::string_view bytes);
  // One whole reply, nested arrays included, e.g. "$1\r\nv\r\n"; on
  // failure "<error: STATUS>", which no reply equals, so a test that
  // compares replies fails without crashing (and leaving its server behind).
  std::string ReadReply();
  // Encode, Send and ReadReply.
  std::string Call(const std::vector<std::string_view>& args);
  // True when the server has closed the connection (a read returns 0)
  // with no bytes left unread.
  bool ServerClosed();
  // Closes the socket now (a client vanishing mid-request).
  void Close();

 private:
  explicit TestClient(int fd) : fd_(fd) {}
  // Ensures buffered_ holds at least n bytes from `from`.
  absl::Status Fill(size_t n);
  // The length of the reply starting at buffered_[from], reading more as needed.
  absl::StatusOr<size_t> ReplyEnd(size_t from);
  absl::StatusOr<size_t> LineEnd(size_t from);

  int fd_;
  std::string buffered_;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_TEST_CLIENT_H_
