// The compiler pipeline, one phase per line (Pipeline.cpp): load -> check ->
// lower -> verify -> emit. The driver (main.cpp) only parses the command line.
#pragma once

#include <string>
#include <vector>

namespace dlc::driver {

enum class Command { Build, Run, Check };
enum class Emit { Exe, Obj, Lib, Llvm, Asm, Ptx, Ir, Ast };

struct Options {
  Command command = Command::Check;
  std::string input;
  std::string output; // empty: a default next to the input; "-": stdout (text emits)
  int optLevel = 2;
  bool deviceCuda = false;
  Emit emit = Emit::Exe;
  bool warningsAsErrors = false;
  bool jsonDiagnostics = false;
  bool verifyEach = false;
  bool timePasses = false;
  std::vector<std::string> libraries;
  std::vector<std::string> programArgs; // after `--` for `dlc run`
};

/// Runs the pipeline for `opts`. Returns the process exit status: 0 on
/// success, 1 on compile errors (or the program's own status for `run`).
int runPipeline(const Options &opts);

} // namespace dlc::driver
