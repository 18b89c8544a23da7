// Code generation: DIR -> LLVM 19 IR -> native code. Emits object files,
// assembly, LLVM IR text and linked executables (`dlc build`), and runs a
// module in-process with ORC LLJIT (`dlc run`). No llvm:: type leaves codegen/.
#pragma once

#include "frontend/Diagnostics.h"
#include "ir/IR.h"

#include <memory>
#include <string>
#include <vector>

namespace dlc::codegen {

enum class EmitKind { Exe, Obj, Llvm, Asm };

struct Options {
  int optLevel = 2;             // 0..3
  EmitKind emit = EmitKind::Exe;
  std::string outputPath;       // the file to write
  std::vector<std::string> libraries; // extra `-l` names for linking executables
  std::string runtimeLibrary;   // path of libdlrt.a; empty: the default found next to dlc
};

/// Compiles `module` and writes `opts.outputPath`. Failures (no target, a
/// linker error, an unwritable file) are reported through `diags` and return false.
bool emit(const ir::Module &module, const Options &opts, DiagEngine &diags);

/// JIT-compiles `module` and runs its entry function with `args` as the
/// program's arguments (argv[0] is `programName`). Returns the program's exit
/// status, or -1 after reporting a failure to compile through `diags`.
int runJIT(const ir::Module &module, int optLevel, const std::string &programName,
           const std::vector<std::string> &args, DiagEngine &diags);

/// The REPL's JIT, one per session. Each line is compiled into a module and
/// a JITDylib of its own, so that redefinitions never clash, and stays loaded:
/// session values may point into its code and constants.
class ReplJIT {
public:
  ~ReplJIT();
  /// Null after reporting why the JIT cannot start.
  static std::unique_ptr<ReplJIT> create(DiagEngine &diags);

  /// Compiles `module`, whose function marked isReplLine has every parameter
  /// inout, and runs it on `slots`: slot i holds parameter i and receives its
  /// new value. A null slot is allocated (zeroed, owned by this JIT) first.
  /// Returns 0 when the line ran, 1 after a runtime error (already printed),
  /// -1 when it could not be compiled (reported through `diags`).
  int run(const ir::Module &module, int optLevel, std::vector<void *> &slots, DiagEngine &diags);

private:
  struct State;
  explicit ReplJIT(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
};

/// The path of libdlrt.a used by default (configured at build time, with a
/// fallback relative to the running dlc executable).
std::string defaultRuntimeLibrary();

} // namespace dlc::codegen
