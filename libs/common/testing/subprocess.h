// A child process for tests that need real processes (crash tests, servers):
// stdout is captured line by line, and the child is killed when the object dies.
//
//   crm::testing::Subprocess child({"/path/to/bin", "--flag"});
//   std::optional<std::string> line = child.ReadLine(absl::Seconds(10));
//   child.Kill(SIGKILL);
//   int status = child.Wait();
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace crm::testing {

// Not thread-safe; one owner.
class Subprocess {
 public:
  explicit Subprocess(std::vector<std::string> argv) {
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) std::abort();
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Subprocess() {
    if (pid_ > 0) {
      Kill(SIGKILL);
      Wait();
    }
    if (fd_ >= 0) close(fd_);
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // The next complete line of the child's stdout (without '\n'), or nullopt when
  // `timeout` passes or the child closed its stdout first.
  std::optional<std::string> ReadLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left < 0 || eof_) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[65536];
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n <= 0) {
        eof_ = true;
      } else {
        buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
  }

  // Reads lines until one contains `needle`; returns it, or nullopt on timeout.
  std::optional<std::string> WaitForLine(const std::string& needle, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (auto line = ReadLine(deadline - absl::Now())) {
      if (line->find(needle) != std::string::npos) return line;
    }
    return std::nullopt;
  }

  void Kill(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits for the child to end; returns its wait status (see WIFEXITED etc.).
  int Wait() {
    int status = 0;
    if (pid_ > 0) {
      waitpid(pid_, &status, 0);
      pid_ = -1;
      status_ = status;
    }
    return status_;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = 0;
  bool eof_ = false;
  std::string buffer_;
};

}  // namespace crm::testing
