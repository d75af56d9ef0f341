// SPDX-License-Identifier: Apache-2.0
// Starts the kvserver binary on a free loopback port and talks to it: each
// command's answer, malformed and oversized input, pipelining, clients
// that vanish mid-request, keys shared across event loops, and a bounded
// redis-benchmark run. Every test ends by stopping the server with SIGTERM
// and checking that it exits 0 with no zone block in use.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_client.h"

extern char** environ;

namespace kvserver {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TempPath(std::string_view what) {
  static std::atomic<int> counter{0};
  return absl::StrCat(testing::TempDir(), "/kvserver_", getpid(), "_", counter++, "_", std::string(what));
}

// Runs argv with stdout and stderr in files; the child's pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) return -1;
  if (posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644) != 0 ||
      posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return -1;
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

// The kvserver process of one test.
class Server {
 public:
  explicit Server(std::vector<std::string> flags) {
    std::vector<std::string> argv = {KVSERVER_BINARY, "--port=0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    pid_ = Spawn(argv, out_path_, err_path_);
    if (pid_ < 0) {
      ADD_FAILURE() << "cannot start " << KVSERVER_BINARY;
      return;
    }
    // Startup prints "kvserver listening on 127.0.0.1:PORT (...)".
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      const std::string out = ReadFile(out_path_);
      const size_t at = out.find("listening on 127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        const std::string_view rest = std::string_view(out).substr(at + 23);
        if (absl::SimpleAtoi(std::string(rest.substr(0, rest.find(' '))), &port_)) return;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "kvserver exited at startup: " << ReadFile(err_path_);
        return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "kvserver printed no port within 30 s";
  }

  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(out_path_.c_str());
    unlink(err_path_.c_str());
  }

  int port() const { return port_; }

  TestClient Client() {
    absl::StatusOr<TestClient> client = TestClient::Connect(port_);
    if (client.ok()) return *std::move(client);
    ADD_FAILURE() << client.status();
    return TestClient::Unconnected();
  }

  // SIGTERM, then expects exit status 0 and a dump with nothing in use.
  void StopAndExpectNoZoneBlockInUse() {
    ASSERT_GT(pid_, 0);
    ASSERT_EQ(kill(pid_, SIGTERM), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    pid_ = -1;
    const std::string err = ReadFile(err_path_);
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 0) << err;
    EXPECT_THAT(err, HasSubstr("zone blocks in use after cleanup: 0\n"));
  }

  const std::string& err_path() const { return err_path_; }

 private:
  const std::string out_path_ = TempPath("stdout");
  const std::string err_path_ = TempPath("stderr");
  pid_t pid_ = -1;
  int port_ = 0;
};

std::string Bulk(std::string_view value) { return absl::StrCat("$", value.size(), "\r\n", std::string(value), "\r\n");
}

// An INFO field's value ("connected_clients" -> "1").
std::string InfoField(TestClient& client, std::string_view field) {
  const std::string info = client.Call({"INFO"});
  const std::string key = absl::StrCat("\r\n", std::string(field), ":");
  const size_t at = info.find(key);
  if (at == std::string::npos) return "<missing>";
  const size_t begin = at + key.size();
  return info.substr(begin, info.find("\r\n", begin) - begin);
}

class KvServerTest : public testing::TestWithParam<std::string> {
 protected:
  Server StartServer(std::vector<std::string> flags = {}) {
    flags.push_back("--allocator=" + GetParam());
    return Server(flags);
  }
};

TEST_P(KvServerTest, AnswersEveryCommand) {
  Server server = StartServer({"--threads=2"});
  TestClient c = server.Client();
  EXPECT_EQ(c.Call({"PING"}), "+PONG\r\n");
  EXPECT_EQ(c.Call({"ping", "hi"}), Bulk("hi"));
  EXPECT_EQ(c.Call({"ECHO", "a b"}), Bulk("a b"));
  EXPECT_EQ(c.Call({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(c.Call({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(c.Call({"SET", "k", "v2", "EX", "100"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"GET", "k"}), Bulk("v2"));
  EXPECT_EQ(c.Call({"SET", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(c.Call({"SET", "k", "v", "PX", "x"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(c.Call({"SET", "k", "v", "NX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(c.Call({"EXISTS", "k", "k", "nope"}), ":2\r\n");
  EXPECT_EQ(c.Call({"DEL", "k", "nope"}), ":1\r\n");
  EXPECT_EQ(c.Call({"EXISTS", "k"}), ":0\r\n");
  EXPECT_EQ(c.Call({"INCR", "n"}), ":1\r\n");
  EXPECT_EQ(c.Call({"INCR", "n"}), ":2\r\n");
  EXPECT_EQ(c.Call({"SET", "s", "abc"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(c.Call({"MSET", "a", "1", "b", "2"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command\r\n");
  EXPECT_EQ(c.Call({"MGET", "a", "nope", "b"}), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
  EXPECT_EQ(c.Call({"DBSIZE"}), ":4\r\n");  // n, s, a, b
  EXPECT_EQ(c.Call({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(c.Call({"CONFIG", "GET", "maxmemory"}), "*0\r\n");
  const std::string info = c.Call({"INFO"});
  EXPECT_THAT(info, HasSubstr("\r\n# zonealloc\r\nzone_in_use_blocks:"));
  EXPECT_THAT(info, HasSubstr(absl::StrCat("allocator:", GetParam(), "\r\n")));
  EXPECT_THAT(info, HasSubstr("db0:keys=4\r\n"));
  if (GetParam() == "zone") {
    EXPECT_THAT(info, HasSubstr("kv.node"));
  }
  EXPECT_EQ(c.Call({"FLUSHALL"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"DBSIZE"}), ":0\r\n");
  // Errors inside well-formed commands leave the connection usable.
  EXPECT_EQ(c.Call({"NOSUCH", "x"}), "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
  EXPECT_EQ(c.Call({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  // Inline commands, as typed into telnet.
  ASSERT_TRUE(c.Send("PING\r\n").ok());
  EXPECT_EQ(c.ReadReply(), "+PONG\r\n");
  EXPECT_EQ(c.Call({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(c.ServerClosed());
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, ExpiresKeysWhenTouched) {
  Server server = StartServer();
  TestClient c = server.Client();
  EXPECT_EQ(c.Call({"SET", "short", "v", "PX", "50"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"SET", "long", "v", "EX", "1000"}), "+OK\r\n");
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(c.Call({"GET", "short"}), "$-1\r\n");
  EXPECT_EQ(c.Call({"GET", "long"}), Bulk("v"));
  EXPECT_EQ(c.Call({"DBSIZE"}), ":1\r\n");
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, AnswersPipelinedRequestsInOrder) {
  Server server = StartServer();
  TestClient c = server.Client();
  constexpr int kRequests = 2000;  // more than one read and one buffer chunk
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += TestClient::Encode({"INCR", "counter"});
  batch += "PING\r\n";
  ASSERT_TRUE(c.Send(batch).ok());
  for (int i = 1; i <= kRequests; ++i) ASSERT_EQ(c.ReadReply(), absl::StrCat(":", i, "\r\n"));
  EXPECT_EQ(c.ReadReply(), "+PONG\r\n");
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, AnswersEveryRequestOfAClientThatReadsLate) {
  Server server = StartServer();
  TestClient c = server.Client();
  const std::string value(4096, 'v');
  ASSERT_EQ(c.Call({"SET", "k", value}), "+OK\r\n");
  // 12 MiB of replies: past the socket buffers and the server's 1 MiB of
  // pending output, so the server stops reading until the client catches up.
  constexpr int kRequests = 3000;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += TestClient::Encode({"GET", "k"});
  absl::Status sent;
  std::thread sender([&] { sent = c.Send(batch); });
  absl::SleepFor(absl::Milliseconds(200));
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(c.ReadReply(), Bulk(value)) << i;
  sender.join();
  EXPECT_TRUE(sent.ok()) << sent;
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, RoundTripsLargeValues) {
  Server server = StartServer();
  TestClient c = server.Client();
  const std::string value(1 << 20, 'z');  // malloc, and buffers past one chunk
  EXPECT_EQ(c.Call({"SET", "big", value}), "+OK\r\n");
  EXPECT_EQ(c.Call({"GET", "big"}), Bulk(value));
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, RefusesMalformedInputAndClosesTheConnection) {
  Server server = StartServer();
  {
    TestClient c = server.Client();
    ASSERT_TRUE(c.Send("*1\r\n:5\r\n").ok());
    EXPECT_EQ(c.ReadReply(), "-ERR Protocol error: expected '$', got ':'\r\n");
    EXPECT_TRUE(c.ServerClosed());
  }
  {
    TestClient c = server.Client();
    ASSERT_TRUE(c.Send("*x\r\n").ok());
    EXPECT_EQ(c.ReadReply(), "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_TRUE(c.ServerClosed());
  }
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, RefusesOversizedLengthsWithoutAllocatingThem) {
  Server server = StartServer({"--max_bulk_bytes=1048576"});
  {
    TestClient c = server.Client();
    EXPECT_EQ(c.Call({"PING"}), "+PONG\r\n");
    ASSERT_TRUE(c.Send("*2\r\n$3\r\nGET\r\n$99999999999\r\n").ok());
    EXPECT_EQ(c.ReadReply(),
              "-ERR Protocol error: invalid bulk length 99999999999 (limit 1048576)\r\n");
    EXPECT_TRUE(c.ServerClosed());
  }
  {
    TestClient c = server.Client();
    ASSERT_TRUE(c.Send("*2147483647\r\n").ok());
    EXPECT_THAT(c.ReadReply(), StartsWith("-ERR Protocol error: invalid multibulk length 2147483647"));
    EXPECT_TRUE(c.ServerClosed());
  }
  TestClient c = server.Client();
  EXPECT_EQ(c.Call({"PING"}), "+PONG\r\n");
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, ClientsThatVanishMidRequestCostOnlyTheirConnections) {
  Server server = StartServer({"--threads=2"});
  for (int i = 0; i < 20; ++i) {
    TestClient c = server.Client();
    // Half of a 1 MiB SET: the server has buffered part of it.
    ASSERT_TRUE(c.Send(absl::StrCat("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n",
                                    std::string(i * 25000, 'x')))
                    .ok());
    c.Close();
  }
  TestClient c = server.Client();
  // Each loop accepts and notices its closes on its own time: a vanished
  // client may still wait in the other loop's accept queue when this one is
  // served, and a loop counts a connection gone before it frees its blocks.
  // So wait until all 21 were accepted, then for both figures. The
  // accepted count is read first, in an INFO of its own: a loop counts a
  // connection there after its connected count (see ServerStats).
  const bool zone = GetParam() == "zone";
  const auto settled = [&] {
    // This connection's block and its two buffer chunks, nothing else.
    return InfoField(c, "total_connections_received") == "21" &&
           InfoField(c, "connected_clients") == "1" &&
           (!zone || InfoField(c, "zone_in_use_blocks") == "3");
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!settled() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(InfoField(c, "total_connections_received"), "21");
  EXPECT_EQ(InfoField(c, "connected_clients"), "1");
  EXPECT_EQ(c.Call({"EXISTS", "k"}), ":0\r\n");
  if (zone) {
    EXPECT_EQ(InfoField(c, "zone_in_use_blocks"), "3");
  }
  server.StopAndExpectNoZoneBlockInUse();
}

TEST_P(KvServerTest, KeysAreSharedAcrossEventLoops) {
  Server server = StartServer({"--threads=4"});
  constexpr int kClients = 16;  // SO_REUSEPORT spreads them over the loops
  std::vector<TestClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(server.Client());
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(clients[i].Call({"SET", absl::StrCat("key", i), absl::StrCat(i)}), "+OK\r\n");
  }
  for (TestClient& c : clients) {
    for (int i = 0; i < kClients; ++i) {
      EXPECT_EQ(c.Call({"GET", absl::StrCat("key", i)}), Bulk(absl::StrCat(i)));
    }
  }
  server.StopAndExpectNoZoneBlockInUse();
}

// The path of an executable on PATH, or "".
std::string FindOnPath(std::string_view name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/", std::string(name));
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

TEST_P(KvServerTest, ServesRedisBenchmark) {
  const std::string benchmark = FindOnPath("redis-benchmark");
  ASSERT_FALSE(benchmark.empty())
      << "redis-benchmark is not on PATH: install redis-tools (cmake/install_deps.sh does). "
         "This test needs a real client and does not skip.";
  Server server = StartServer({"--threads=2"});
  const std::string out_path = TempPath("benchmark_stdout");
  const std::string err_path = TempPath("benchmark_stderr");
  const pid_t pid = Spawn({benchmark, "-p", absl::StrCat(server.port()), "-t",
                           "ping,set,get,incr,mset", "-n", "20000", "-c", "20", "-P", "16", "-r",
                           "1000", "-d", "64", "--csv"},
                          out_path, err_path);
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string out = ReadFile(out_path);
  const std::string err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out << err;
  for (const char* test : {"\"SET\"", "\"GET\"", "\"INCR\"", "\"MSET (10 keys)\""}) {
    EXPECT_THAT(out, HasSubstr(test));
  }
  TestClient c = server.Client();
  EXPECT_EQ(c.Call({"EXISTS", "key:000000000042"}), ":1\r\n");
  server.StopAndExpectNoZoneBlockInUse();
}

// Runs kvserver with `flag` and returns its exit status and stderr.
std::pair<int, std::string> RunWithFlag(const std::string& flag) {
  const std::string out_path = TempPath("flag_stdout");
  const std::string err_path = TempPath("flag_stderr");
  const pid_t pid = Spawn({KVSERVER_BINARY, flag}, out_path, err_path);
  int status = 0;
  const bool exited = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
  const std::string err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  if (!exited) return {-1, err};
  return {WEXITSTATUS(status), err};
}

TEST(KvServerFlagsTest, RefusesBadFlagsNamingTheValue) {
  EXPECT_EQ(RunWithFlag("--allocator=jemalloc"),
            std::make_pair(1, std::string("kvserver: INVALID_ARGUMENT: --allocator must be 'zone' or "
                                          "'malloc', got 'jemalloc'\n")));
  EXPECT_EQ(RunWithFlag("--port=70000"),
            std::make_pair(1, std::string("kvserver: INVALID_ARGUMENT: --port must be in [0, 65535], "
                                          "got 70000\n")));
  EXPECT_EQ(RunWithFlag("--max_bulk_bytes=0").first, 1);
  EXPECT_EQ(RunWithFlag("--bind=localhost").first, 1);
}

INSTANTIATE_TEST_SUITE_P(Allocators, KvServerTest, testing::Values("zone", "malloc"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kvserver
