// The host target: target machine creation (native target only, so startup
// stays fast), module verification and the new pass manager's default
// per-module optimization pipeline (-O0 .. -O3).
#include "codegen/Target.h"

#include <cstdlib>

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>

#include <mutex>

namespace dlc::codegen {

void initNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

llvm::CodeGenOptLevel codeGenOptLevel(int optLevel) {
  switch (optLevel) {
  case 0:
    return llvm::CodeGenOptLevel::None;
  case 1:
    return llvm::CodeGenOptLevel::Less;
  case 3:
    return llvm::CodeGenOptLevel::Aggressive;
  default:
    return llvm::CodeGenOptLevel::Default;
  }
}

std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(int optLevel, DiagEngine &diags) {
  initNativeTarget();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    diags.report(DiagId::err_codegen, {}, {"no target for '" + triple + "': " + error});
    return nullptr;
  }
  llvm::SubtargetFeatures features;
  std::string cpu = llvm::sys::getHostCPUName().str();
  // DLC_TARGET_CPU=x86-64-v2 (or any CPU LLVM knows) compiles for that CPU
  // instead of this machine's: for running generated code under valgrind,
  // which does not emulate AVX-512 (docs/ADDING_A_FEATURE.md).
  if (const char *forced = getenv("DLC_TARGET_CPU"); forced && *forced) {
    cpu = forced;
  } else {
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.getKey(), feature.getValue());
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features.getString(), options, llvm::Reloc::PIC_, std::nullopt,
      codeGenOptLevel(optLevel)));
  if (!tm)
    diags.report(DiagId::err_codegen, {}, {"cannot create a target machine for '" + triple + "'"});
  return tm;
}

bool verifyAndOptimize(llvm::Module &module, llvm::TargetMachine *tm, int optLevel,
                       DiagEngine &diags) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (llvm::verifyModule(module, &os)) {
    os.flush();
    if (message.size() > 2000)
      message = message.substr(0, 2000) + "...";
    diags.report(DiagId::err_codegen, {}, {"internal error: invalid LLVM IR: " + message});
    return false;
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);

  llvm::ModulePassManager mpm;
  switch (optLevel) {
  case 0:
    mpm = pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0);
    break;
  case 1:
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1);
    break;
  case 3:
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    break;
  default:
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    break;
  }
  mpm.run(module, mam);
  return true;
}

} // namespace dlc::codegen
