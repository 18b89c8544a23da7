// `dlc run`: DIR -> optimized LLVM module -> ORC LLJIT in this process, then a
// call of the generated C `main`. The runtime's dlrt_* functions are bound from
// runtime/Symbols.def as absolute symbols (dlc exports no dynamic symbols);
// libc/libm symbols of extern functions resolve through the process.
#include "codegen/Codegen.h"
#include "codegen/Lowering.h"
#include "codegen/Target.h"

#include "runtime/dlrt.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>

namespace dlc::codegen {

namespace {
bool reportIfError(llvm::Error err, DiagEngine &diags, const char *what) {
  if (!err)
    return false;
  diags.report(DiagId::err_codegen, {},
               {std::string(what) + ": " + llvm::toString(std::move(err))});
  return true;
}

llvm::orc::SymbolMap runtimeSymbols(llvm::orc::LLJIT &jit) {
  llvm::orc::SymbolMap symbols;
  auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
#define DLRT_FN(name)                                                                              \
  symbols[jit.mangleAndIntern(#name)] = {                                                          \
      llvm::orc::ExecutorAddr(reinterpret_cast<uint64_t>(&name)), flags};
#include "runtime/Symbols.def"
  return symbols;
}
} // namespace

int runJIT(const ir::Module &module, int optLevel, const std::string &programName,
           const std::vector<std::string> &args, DiagEngine &diags) {
  bool hasEntry = false;
  for (const ir::Function &f : module.functions)
    hasEntry |= f.isEntry;
  if (!hasEntry) {
    diags.report(DiagId::err_codegen, {}, {"the program has no 'main' function"});
    return -1;
  }

  initNativeTarget();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) {
    reportIfError(jtmb.takeError(), diags, "cannot target the host");
    return -1;
  }
  jtmb->setCodeGenOptLevel(codeGenOptLevel(optLevel));
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    reportIfError(tm.takeError(), diags, "cannot create a target machine");
    return -1;
  }
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!jit) {
    reportIfError(jit.takeError(), diags, "cannot create the JIT");
    return -1;
  }

  llvm::orc::JITDylib &main = (*jit)->getMainJITDylib();
  if (reportIfError(main.define(llvm::orc::absoluteSymbols(runtimeSymbols(**jit))), diags,
                    "cannot bind the runtime"))
    return -1;
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!process) {
    reportIfError(process.takeError(), diags, "cannot search this process's symbols");
    return -1;
  }
  main.addGenerator(std::move(*process));

  llvm::orc::ThreadSafeContext tsc(std::make_unique<llvm::LLVMContext>());
  std::unique_ptr<llvm::Module> mod = lowerToLLVM(
      module, *tsc.getContext(), (*jit)->getDataLayout(), (*jit)->getTargetTriple().str(), diags);
  if (!mod || !verifyAndOptimize(*mod, tm->get(), optLevel, diags))
    return -1;
  if (reportIfError((*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), tsc)), diags,
                    "cannot add the module to the JIT"))
    return -1;
  auto entry = (*jit)->lookup("main");
  if (!entry) {
    reportIfError(entry.takeError(), diags, "cannot compile the program");
    return -1;
  }

  std::vector<std::string> argvStorage{programName};
  argvStorage.insert(argvStorage.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &a : argvStorage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto *cMain = entry->toPtr<int (*)(int, char **)>();
  return cMain(int(argvStorage.size()), argv.data());
}

} // namespace dlc::codegen
