// SPDX-License-Identifier: Apache-2.0
#include "bench/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

extern char** environ;

namespace zonealloc::bench {
namespace {

// This process's environment without LD_PRELOAD, plus LD_PRELOAD=preload
// when given.
std::vector<std::string> ChildEnvironment(const std::string& preload) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "LD_PRELOAD=")) env.emplace_back(*entry);
  }
  if (!preload.empty()) env.push_back("LD_PRELOAD=" + preload);
  return env;
}

// Pointers into `strings`, null-terminated, for execve.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// How reading a child's stdout ended.
enum class ReadEnd { kEof, kTimedOut };

// Reads `fd` until EOF or `deadline`; an error naming errno when poll or
// read fails.
absl::StatusOr<ReadEnd> ReadUntilEof(int fd, std::chrono::steady_clock::time_point deadline,
                                     std::string& out) {
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ReadEnd::kTimedOut;
    pollfd poll_fd{.fd = fd, .events = POLLIN, .revents = 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return absl::InternalError(absl::StrFormat("poll: %s", std::strerror(errno)));
    if (ready == 0) return ReadEnd::kTimedOut;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrFormat("read: %s", std::strerror(errno)));
    if (n == 0) return ReadEnd::kEof;
    out.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

std::string ChildExit::Describe() const {
  if (timed_out) return "timed out";
  if (term_signal != 0)
    return absl::StrFormat("killed by signal %d (%s)", term_signal, strsignal(term_signal));
  return absl::StrFormat("exit %d", exit_code);
}

absl::StatusOr<ChildExit> RunChildProcess(const std::string& path,
                                          const std::vector<std::string>& args,
                                          const std::string& preload, absl::Duration limit) {
  std::vector<std::string> argv_strings = {path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(preload);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrFormat("pipe: %s", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::InternalError(absl::StrFormat("fork: %s", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on. A failed dup2 ends
    // it as a failed execve does, so the parent says "cannot run".
    if (dup2(pipe_fds[1], STDOUT_FILENO) < 0) _exit(127);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  ChildExit result;
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(limit);
  const absl::StatusOr<ReadEnd> end = ReadUntilEof(pipe_fds[0], deadline, result.stdout_text);
  close(pipe_fds[0]);
  result.timed_out = end.ok() && *end == ReadEnd::kTimedOut;
  if (!end.ok() || result.timed_out) kill(pid, SIGKILL);
  int status = 0;
  pid_t waited;
  do {
    waited = waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  // Without a status the run's end is unknown (ECHILD: SIGCHLD is ignored,
  // so the kernel reaped the child); never report it as "exit 0".
  const int wait_error = waited < 0 ? errno : 0;
  if (!end.ok()) {
    return absl::InternalError(absl::StrFormat("%s's output: %s", path, end.status().message()));
  }
  if (wait_error != 0) {
    return absl::InternalError(
        absl::StrFormat("waitpid for %s: %s", path, std::strerror(wait_error)));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  if (result.exit_code == 127 && result.stdout_text.empty()) {
    return absl::NotFoundError(absl::StrFormat("cannot run %s", path));
  }
  return result;
}

}  // namespace zonealloc::bench
