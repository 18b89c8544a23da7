// Test helper shared by the runtime unit tests: runs a body in a forked child
// with stdout and stderr on pipes, so runtime errors (which exit the process)
// can be checked. Include after <doctest/doctest.h>.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace dlc::testing {

struct ChildResult {
  int exitStatus = -1; // -1 when the child did not exit normally
  std::string out;
  std::string err;
};

inline std::string readAll(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Runs `body` in a child with stdout and stderr on pipes. A body that returns
// ends the child with status 77.
inline ChildResult runInChild(const std::function<void()> &body) {
  std::fflush(stdout);
  std::fflush(stderr);
  int outPipe[2];
  int errPipe[2];
  REQUIRE(pipe(outPipe) == 0);
  REQUIRE(pipe(errPipe) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(outPipe[1], STDOUT_FILENO);
    dup2(errPipe[1], STDERR_FILENO);
    close(outPipe[0]);
    close(outPipe[1]);
    close(errPipe[0]);
    close(errPipe[1]);
    body();
    std::fflush(stdout);
    _exit(77);
  }
  close(outPipe[1]);
  close(errPipe[1]);
  ChildResult result;
  // Outputs are small; read stdout first, then stderr, both to EOF.
  result.out = readAll(outPipe[0]);
  result.err = readAll(errPipe[0]);
  close(outPipe[0]);
  close(errPipe[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status))
    result.exitStatus = WEXITSTATUS(status);
  return result;
}

// The location the tensor runtime tests pass to every operation.
constexpr const char *kTestLoc = "t.dl:1:2";

// `body` must fail with "runtime error: <kTestLoc>: <message>" and status 1.
inline void checkFailure(const std::function<void()> &body, const std::string &message) {
  ChildResult r = runInChild(body);
  CHECK(r.exitStatus == 1);
  CHECK(r.err == "runtime error: " + std::string(kTestLoc) + ": " + message + "\n");
}

} // namespace dlc::testing
