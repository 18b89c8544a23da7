// Linking executables: runs the system C compiler driver (`cc`) on the object
// file, libdlrt.a, zlib, libm and libpthread (plus `-l` libraries) with posix_spawn,
// capturing its output for the err_link message. Also locates libdlrt.a.
#include "codegen/Codegen.h"
#include "codegen/Target.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace dlc::codegen {

namespace {
bool isFile(const std::filesystem::path &p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

/// Runs `argv` (argv[0] looked up in PATH) and waits; stdout and stderr go to
/// `output`. Returns the exit status, or -1 with `output` set when it could not run.
int runProgram(const std::vector<std::string> &argv, std::string &output) {
  int fds[2];
  if (pipe(fds) != 0) {
    output = std::string("cannot create a pipe: ") + std::strerror(errno);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[1]);

  std::vector<char *> args;
  for (const std::string &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    output = "cannot run '" + argv[0] + "': " + std::strerror(err);
    return -1;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      output.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  output += "\n'" + argv[0] + "' was terminated by signal " + std::to_string(WTERMSIG(status));
  return 128 + WTERMSIG(status);
}
} // namespace

bool linkExecutable(const std::string &objectPath, const std::string &outputPath,
                    const std::string &runtimeLibrary, const std::vector<std::string> &libraries,
                    DiagEngine &diags) {
  if (!isFile(runtimeLibrary)) {
    diags.report(DiagId::err_link, {},
                 {"the runtime library '" + runtimeLibrary + "' does not exist"});
    return false;
  }
  // The runtime's tensor matmul calls OpenBLAS.
  std::vector<std::string> argv{"cc", "-o", outputPath, objectPath, runtimeLibrary, "-lopenblas"};
  for (const std::string &lib : libraries)
    argv.push_back("-l" + lib);
  argv.push_back("-lz"); // loadIDX reads gzip files
  argv.push_back("-lm");
  argv.push_back("-lpthread");
  std::string output;
  int status = runProgram(argv, output);
  if (status == 0)
    return true;
  while (!output.empty() && (output.back() == '\n' || output.back() == ' '))
    output.pop_back();
  if (status > 0 && output.empty())
    output = "'cc' exited with status " + std::to_string(status);
  diags.report(DiagId::err_link, {}, {output});
  return false;
}

std::string defaultRuntimeLibrary() {
#ifdef DLC_RUNTIME_LIB_PATH
  if (isFile(DLC_RUNTIME_LIB_PATH))
    return DLC_RUNTIME_LIB_PATH;
#endif
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path dir = exe.parent_path();
    for (const auto &candidate : {dir / ".." / "lib" / "libdlrt.a", dir / "libdlrt.a"})
      if (isFile(candidate))
        return candidate.lexically_normal().string();
  }
#ifdef DLC_RUNTIME_LIB_PATH
  return DLC_RUNTIME_LIB_PATH;
#else
  return "libdlrt.a";
#endif
}

} // namespace dlc::codegen
