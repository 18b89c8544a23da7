// dlc's command line: parses `dlc build | run | check | repl`, flags and
// program arguments, then hands off to the pipeline. Bad usage exits with 2.
#include "driver/Pipeline.h"
#include "driver/Repl.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>

using namespace dlc::driver;

namespace {

const char *kVersion = "dlc 0.1.0 (DL language v1; LLVM 19)";

const char *kHelp = R"(dlc - the DL compiler: compile-time automatic differentiation to native code

Usage:
  dlc build FILE.dl [-o OUT] [-O0|-O1|-O2|-O3] [--emit KIND] [-Werror] [-l LIB]
  dlc run FILE.dl [-O0|-O1|-O2|-O3] [-Werror] [-- ARGS...]
  dlc check FILE.dl [-Werror]
  dlc repl [-O0|-O1|-O2|-O3]
  dlc --version | --help

Commands:
  build    compile FILE.dl (default: a native executable named after the file)
  run      compile FILE.dl in memory (JIT) and run its main function
  check    parse, type-check and run the differentiability checks only
  repl     interactive session

Options:
  -o OUT                  output file ('-' for standard output with text emits)
  -O0 -O1 -O2 -O3         optimization level (default -O2)
  --emit KIND             exe | obj | llvm | asm | ir | ast  (lib, ptx: later)
  --device cpu|cuda       target device (default cpu)
  -Werror                 treat warnings as errors
  --diagnostics text|json diagnostics format (json: one object per line)
  -l LIB                  link the C library LIB into an executable
  --verify-each           verify the IR after every pass
  --time-passes           print the time each phase takes

Exit status: 0 success, 1 compile or runtime error, 2 bad command line or unreadable input.
)";

int usageError(const std::string &message) {
  fprintf(stderr, "dlc: error: %s\n", message.c_str());
  fprintf(stderr, "run 'dlc --help' for usage\n");
  return 2;
}

/// `dlc repl [-O0..-O3] [--diagnostics text|json] [--time-lines]`.
int runReplCommand(int argc, char **argv) {
  ReplOptions opts;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() == 3 && arg[0] == '-' && arg[1] == 'O' && arg[2] >= '0' && arg[2] <= '3')
      opts.optLevel = arg[2] - '0';
    else if (arg == "--diagnostics=json" || (arg == "--diagnostics" && i + 1 < argc &&
                                             std::string(argv[i + 1]) == "json" && ++i))
      opts.jsonDiagnostics = true;
    else if (arg == "--diagnostics=text" || (arg == "--diagnostics" && i + 1 < argc &&
                                             std::string(argv[i + 1]) == "text" && ++i))
      opts.jsonDiagnostics = false;
    else if (arg == "--time-lines")
      opts.timeLines = true;
    else
      return usageError("unknown option '" + arg + "' for 'dlc repl'");
  }
  return runRepl(opts);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return usageError("no command given");
  std::string first = argv[1];
  if (first == "--version" || first == "-v") {
    printf("%s\n", kVersion);
    return 0;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    fputs(kHelp, stdout);
    return 0;
  }
  Options opts;
  if (first == "build")
    opts.command = Command::Build;
  else if (first == "run")
    opts.command = Command::Run;
  else if (first == "check")
    opts.command = Command::Check;
  else if (first == "repl")
    return runReplCommand(argc, argv);
  else
    return usageError("unknown command '" + first + "'");

  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> const char * {
      if (i + 1 >= argc)
        return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (arg == "--") {
      if (opts.command != Command::Run)
        return usageError("program arguments after '--' are only accepted by 'dlc run'");
      for (++i; i < argc; ++i)
        opts.programArgs.push_back(argv[i]);
      break;
    }
    if (arg == "-o") {
      const char *v = value("-o");
      if (!v)
        return usageError("'-o' needs a file name");
      opts.output = v;
    } else if (arg.size() == 3 && arg[0] == '-' && arg[1] == 'O' && arg[2] >= '0' && arg[2] <= '3') {
      opts.optLevel = arg[2] - '0';
    } else if (arg == "--emit" || arg.rfind("--emit=", 0) == 0) {
      const char *v = arg == "--emit" ? value("--emit") : argv[i] + 7;
      if (!v)
        return usageError("'--emit' needs a kind");
      std::string k = v;
      if (k == "exe") opts.emit = Emit::Exe;
      else if (k == "obj") opts.emit = Emit::Obj;
      else if (k == "lib") opts.emit = Emit::Lib;
      else if (k == "llvm") opts.emit = Emit::Llvm;
      else if (k == "asm") opts.emit = Emit::Asm;
      else if (k == "ptx") opts.emit = Emit::Ptx;
      else if (k == "ir") opts.emit = Emit::Ir;
      else if (k == "ast") opts.emit = Emit::Ast;
      else
        return usageError("unknown --emit kind '" + k + "' (expected exe, obj, lib, llvm, asm, ptx, ir or ast)");
    } else if (arg == "--device" || arg.rfind("--device=", 0) == 0) {
      const char *v = arg == "--device" ? value("--device") : argv[i] + 9;
      if (!v)
        return usageError("'--device' needs cpu or cuda");
      std::string d = v;
      if (d == "cuda")
        opts.deviceCuda = true;
      else if (d != "cpu")
        return usageError("unknown device '" + d + "' (expected cpu or cuda)");
    } else if (arg == "-Werror") {
      opts.warningsAsErrors = true;
    } else if (arg == "--diagnostics" || arg.rfind("--diagnostics=", 0) == 0) {
      const char *v = arg == "--diagnostics" ? value("--diagnostics") : argv[i] + 14;
      if (!v)
        return usageError("'--diagnostics' needs text or json");
      std::string f = v;
      if (f == "json")
        opts.jsonDiagnostics = true;
      else if (f != "text")
        return usageError("unknown diagnostics format '" + f + "' (expected text or json)");
    } else if (arg == "-l") {
      const char *v = value("-l");
      if (!v)
        return usageError("'-l' needs a library name");
      opts.libraries.push_back(v);
    } else if (arg.rfind("-l", 0) == 0 && arg.size() > 2) {
      opts.libraries.push_back(arg.substr(2));
    } else if (arg == "--verify-each") {
      opts.verifyEach = true;
    } else if (arg == "--time-passes") {
      opts.timePasses = true;
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      return usageError("unknown option '" + arg + "'");
    } else if (opts.input.empty()) {
      opts.input = arg;
    } else {
      return usageError("more than one input file ('" + opts.input + "' and '" + arg + "')");
    }
  }
  if (opts.input.empty())
    return usageError("no input file");
  struct stat st;
  if (stat(opts.input.c_str(), &st) != 0 || access(opts.input.c_str(), R_OK) != 0) {
    fprintf(stderr, "dlc: error: cannot read '%s': %s\n", opts.input.c_str(), strerror(errno));
    return 2;
  }
  if (S_ISDIR(st.st_mode)) {
    fprintf(stderr, "dlc: error: cannot read '%s': it is a directory\n", opts.input.c_str());
    return 2;
  }
  return runPipeline(opts);
}
