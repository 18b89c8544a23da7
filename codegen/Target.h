// Private to codegen/: the host target machine, the optimization pipeline and
// the system linker, shared by `emit` (Emit.cpp) and `runJIT` (JIT.cpp).
#pragma once

#include "frontend/Diagnostics.h"

#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace dlc::codegen {

/// Registers the native target, its asm printer and parser (once).
void initNativeTarget();

/// llvm::CodeGenOptLevel for -O0..-O3.
llvm::CodeGenOptLevel codeGenOptLevel(int optLevel);

/// A target machine for the host (PIC, host CPU and features); null after
/// reporting err_codegen.
std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(int optLevel, DiagEngine &diags);

/// Verifies `module` (a failure is a compiler bug, reported as err_codegen)
/// and runs the default per-module pipeline for `optLevel`.
bool verifyAndOptimize(llvm::Module &module, llvm::TargetMachine *tm, int optLevel,
                       DiagEngine &diags);

/// Links `objectPath` with the runtime into the executable `outputPath` using
/// the system C compiler driver (`cc`); reports err_link with its output.
bool linkExecutable(const std::string &objectPath, const std::string &outputPath,
                    const std::string &runtimeLibrary, const std::vector<std::string> &libraries,
                    DiagEngine &diags);

} // namespace dlc::codegen
